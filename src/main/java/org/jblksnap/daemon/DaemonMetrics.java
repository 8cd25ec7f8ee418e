package org.jblksnap.daemon;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;

import org.jblksnap.snapshot.Snapshot;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.tracker.IoCounters;
import org.jblksnap.tracker.Tracker;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The daemon's metrics in Prometheus' text format at {@code /metrics} on {@code --metrics
 * HOST:PORT}. Every value is read when scraped, from the engine's own counters (which know
 * nothing of Prometheus) and the jobs: per device its I/O and the CBT blocks written since
 * its last backup, per snapshot its difference storage and the chunks copied, per job its last
 * run, its failed and its cancelled runs and its next run. The names are listed in README,
 * "Scheduled backups".
 */
final class DaemonMetrics implements AutoCloseable {
    private final SnapshotManager engine;
    private final Jobs jobs;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final HTTPServer server;

    DaemonMetrics(SnapshotManager engine, Jobs jobs, InetSocketAddress address) throws IOException {
        this.engine = engine;
        this.jobs = jobs;
        deviceCounter("jblksnap_device_read_requests", "Read requests of the device", IoCounters::reads);
        deviceCounter("jblksnap_device_read_bytes", "Bytes read from the device", IoCounters::readBytes);
        deviceCounter("jblksnap_device_read_seconds", "Time read requests took", c -> c.readNanos() / 1e9);
        deviceCounter("jblksnap_device_write_requests", "Write requests of the device", IoCounters::writes);
        deviceCounter("jblksnap_device_written_bytes", "Bytes written to the device", IoCounters::writtenBytes);
        deviceCounter("jblksnap_device_write_seconds", "Time write requests took, copy-on-write included",
                c -> c.writeNanos() / 1e9);
        gauge("jblksnap_cbt_dirty_blocks", "CBT blocks written since the device's last backup by this daemon (all of them "
                + "after a new CBT generation), or since its last snapshot take when there was none since the daemon started",
                "device", cb -> engine.trackers().forEach(t -> cb.call(jobs.lastBackedUp(t.name())
                        .map(ref -> t.cbt().dirtyBlocksSince(UUID.fromString(ref.generation()), ref.changesNumber()))
                        .orElseGet(() -> t.cbt().dirtyBlocks()), t.name())));
        gauge("jblksnap_cbt_block_bytes", "Size of a CBT block", "device",
                cb -> engine.trackers().forEach(t -> cb.call(t.cbt().blockSize(), t.name())));
        snapshotGauge("jblksnap_snapshot_diff_storage_bytes", "Size of the snapshot's difference storage",
                s -> s.storage().usage().size());
        snapshotGauge("jblksnap_snapshot_diff_storage_filled_bytes", "Bytes of the difference storage in use",
                s -> s.storage().usage().filled());
        snapshotGauge("jblksnap_snapshot_diff_storage_limit_bytes", "Limit of the difference storage",
                s -> s.storage().usage().limit());
        CounterWithCallback.builder().name("jblksnap_snapshot_cow_chunks").help("Chunks copied on write")
                .labelNames("snapshot").callback(cb -> engine.snapshots()
                        .forEach(s -> cb.call(s.copiedChunks(), s.id().toString())))
                .register(registry);
        jobGauge("jblksnap_job_last_success_timestamp_seconds", "End of the job's last successful backup",
                j -> jobs.lastSuccess(j.name(), Jobs.BACKUP).map(r -> seconds(r.end())).orElse(Double.NaN));
        jobGauge("jblksnap_job_last_duration_seconds", "Duration of the job's last backup run",
                j -> jobs.lastRun(j.name(), Jobs.BACKUP).filter(r -> r.end() != null)
                        .map(r -> (r.end().toEpochMilli() - r.start().toEpochMilli()) / 1e3).orElse(Double.NaN));
        jobGauge("jblksnap_job_last_read_bytes", "Bytes the job's last backup run read",
                j -> jobs.lastRun(j.name(), Jobs.BACKUP).map(r -> (double) r.readBytes()).orElse(Double.NaN));
        jobGauge("jblksnap_job_last_stored_bytes", "Bytes the job's last backup run stored",
                j -> jobs.lastRun(j.name(), Jobs.BACKUP).map(r -> (double) r.storedBytes()).orElse(Double.NaN));
        jobGauge("jblksnap_job_next_run_timestamp_seconds", "When the job's schedule fires next",
                j -> jobs.next(j, Jobs.BACKUP).map(DaemonMetrics::seconds).orElse(Double.NaN));
        gauge("jblksnap_job_refused", "1 for each job of the config that was refused at load (its error is in the "
                + "log and job_list): it never runs", "job", cb -> jobs.refused().keySet().forEach(j -> cb.call(1, j)));
        jobCounter("jblksnap_job_failures", "Backup runs of the job that failed (a cancelled run is no failure)",
                JobRun.FAILED);
        jobCounter("jblksnap_job_cancellations", "Backup runs of the job that were cancelled: job_cancel, job_run's "
                + "client gone (Ctrl-C), the daemon stopping", JobRun.CANCELLED);
        this.server = HTTPServer.builder().hostname(address.getHostString()).port(address.getPort()).registry(registry)
                .buildAndStart();
    }

    /** The port it listens on (the one asked for, or the one the system chose for 0). */
    int port() {
        return server.getPort();
    }

    private void deviceCounter(String name, String help, ToDoubleFunction<IoCounters> value) {
        CounterWithCallback.builder().name(name).help(help).labelNames("device")
                .callback(cb -> {
                    for (Tracker t : engine.trackers()) {
                        cb.call(value.applyAsDouble(t.counters()), t.name());
                    }
                }).register(registry);
    }

    private void snapshotGauge(String name, String help, ToDoubleFunction<Snapshot> value) {
        gauge(name, help, "snapshot", cb -> engine.snapshots()
                .forEach(s -> cb.call(value.applyAsDouble(s), s.id().toString())));
    }

    private void jobGauge(String name, String help, ToDoubleFunction<JobConfig> value) {
        gauge(name, help, "job", cb -> jobs.configs().values().forEach(j -> {
            double v = value.applyAsDouble(j);
            if (!Double.isNaN(v)) {
                cb.call(v, j.name());
            }
        }));
    }

    /** The backup runs of each job that ended with this result, as the history keeps them. */
    private void jobCounter(String name, String help, String result) {
        CounterWithCallback.builder().name(name).help(help).labelNames("job")
                .callback(cb -> jobs.configs().values()
                        .forEach(j -> cb.call(jobs.unsuccessful(j.name(), Jobs.BACKUP, result), j.name())))
                .register(registry);
    }

    private void gauge(String name, String help, String label, Consumer<GaugeWithCallback.Callback> callback) {
        GaugeWithCallback.builder().name(name).help(help).labelNames(label).callback(callback).register(registry);
    }

    private static double seconds(Instant t) {
        return t.toEpochMilli() / 1e3;
    }

    @Override
    public void close() {
        server.close();
    }
}
