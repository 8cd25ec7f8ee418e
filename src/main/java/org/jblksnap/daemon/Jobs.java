package org.jblksnap.daemon;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.backup.BackupSummary;
import org.jblksnap.backup.CbtRef;
import org.jblksnap.backup.CopySummary;
import org.jblksnap.backup.PointCopier;
import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Verifier;
import org.jblksnap.backup.VerifyReport;
import org.jblksnap.control.ControlEvents;
import org.jblksnap.control.ControlHandler;
import org.jblksnap.control.ControlProtocol;
import org.jblksnap.control.ProgressEvents;
import org.jblksnap.control.TakeHooks;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.CatalogCache;
import org.jblksnap.repo.KeyFiles;
import org.jblksnap.repo.ObjectStore;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.PruneConflictException;
import org.jblksnap.repo.PruneReport;
import org.jblksnap.repo.Pruner;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.repo.RepositoryLocation;
import org.jblksnap.repo.S3Credentials;
import org.jblksnap.repo.Retention;
import org.jblksnap.snapshot.SnapshotManager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The daemon's jobs: their schedules, their queue and their runs, and the verbs job_list,
 * job_run, job_history and job_cancel; and the backup verb, whose runs share the queue.
 *
 * <p>Schedule: a scheduler thread looks at the clock every second; each schedule (a job's
 * backup, and its verify) fires when the clock has passed the first time it names after the
 * last time it fired. That last time is kept in {@code jobs/schedule.json}, so a time passed
 * while the daemon was down fires at start, once however many were missed (trigger
 * {@code missed}); a job seen for the first time starts counting from then. A schedule that
 * fires while its job still has a run of that kind queued or running is skipped, with a log
 * line.
 *
 * <p>Runs: every run waits in the {@link DeviceQueue} for all its devices, so one run per
 * device at a time. A backup run is a {@link BackupRun} into the job's repository (opened
 * shared, created when missing, as `backup` does), then, when it succeeded, a prune of the
 * repository by the job's keep rules (opened for prune: other backups into it may run
 * meanwhile). A verify run checks the whole repository. Each run is in the {@link JobHistory}
 * from its start. A run's failure (a device not attached, a repository out of reach) is that
 * run's result; the other jobs go on.
 *
 * <p>A job the config refused ({@link DaemonConfig#refusedJobs}) never runs: its error is in
 * the log at start, in job_list (state {@code refused}) and the answer of job_run and
 * job_cancel; job_history still shows the runs it had before.
 */
final class Jobs implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Jobs.class.getName());
    static final String BACKUP = "backup";
    static final String VERIFY = "verify";
    private static final long STOP_WAIT_SECONDS = 30;

    private final Map<String, JobConfig> jobs = new LinkedHashMap<>();
    private final Map<String, String> refused;
    private final SnapshotManager engine;
    private final DaemonExports exports;
    private final TakeHooks hooks;
    private final Path dir;
    private final Clock clock;
    private final Function<String, Progress> progress;
    private final DeviceQueue queue = new DeviceQueue();
    private final Map<String, Instant> lastFired = new ConcurrentHashMap<>();
    private final Set<Active> active = ConcurrentHashMap.newKeySet();
    /** Runs of the backup verb, cancelled when the daemon stops. */
    private final Set<BackupRun> requested = ConcurrentHashMap.newKeySet();
    private final Map<String, JobRun> lastSuccess = new ConcurrentHashMap<>();
    private final Map<String, JobRun> lastRun = new ConcurrentHashMap<>();
    /** By job, kind and result, how many runs ended failed or cancelled. */
    private final Map<String, Long> unsuccessful = new ConcurrentHashMap<>();
    /** By device, the CBT state its last point committed by this daemon was read at (metrics' dirty blocks). */
    private final Map<String, CbtRef> lastBackedUp = new ConcurrentHashMap<>();
    /** What backups and their prunes read of the repositories' catalogues, for the next run. */
    private final CatalogCache catalogs = new CatalogCache(4);
    private JobHistory history;
    private Instant startedAt;
    private Thread scheduler;
    private volatile boolean closed;

    /**
     * @param refused the jobs the config refused, by name, each with its error
     * @param dir the state directory's {@code jobs}
     * @param progress where a run (named by its job) reports progress and notes
     */
    Jobs(List<JobConfig> configs, Map<String, String> refused, SnapshotManager engine, DaemonExports exports,
            TakeHooks hooks, Path dir, Clock clock, Function<String, Progress> progress) {
        configs.forEach(j -> jobs.put(j.name(), j));
        this.refused = new LinkedHashMap<>(refused);
        this.engine = engine;
        this.exports = exports;
        this.hooks = hooks;
        this.dir = dir;
        this.clock = clock;
        this.progress = progress;
    }

    /** Loads the history (reporting runs cut off) and the schedules' state, then starts the scheduler. */
    void start() throws IOException {
        history = JobHistory.load(dir);
        history.list(null).forEach(this::ended); // every run has ended: load records those cut off as failed
        // and those no longer kept, so that no counter goes down across a restart
        history.trimmed().forEach((tally, n) -> unsuccessful.merge(tally, n, Long::sum));
        startedAt = clock.instant();
        loadScheduleState();
        for (JobConfig j : jobs.values()) {
            for (String kind : kinds(j)) {
                lastFired.putIfAbsent(j.name() + "/" + kind, startedAt);
            }
            List<String> missing = j.devices().stream().filter(d -> !attached(d)).toList();
            if (!missing.isEmpty()) {
                LOG.warning("job " + j.name() + " names " + String.join(", ", missing)
                        + ", not attached: its runs fail until they are");
            }
        }
        refused.values().forEach(error -> LOG.severe(error + "; the job is refused, the other jobs run"));
        saveScheduleState();
        scheduler = Thread.ofPlatform().name("jobs-scheduler").daemon().start(this::scheduleLoop);
        if (!jobs.isEmpty()) {
            LOG.info("jobs: " + String.join(", ", jobs.keySet()));
        }
    }

    void register(ControlHandler handler) {
        handler.register("job_list", a -> list());
        handler.registerStreaming("job_run", this::runVerb);
        handler.register("job_history", this::historyVerb);
        handler.register("job_cancel", this::cancelVerb);
        handler.registerStreaming("backup", this::backupVerb);
    }

    Map<String, JobConfig> configs() {
        return jobs;
    }

    /** The jobs the config refused, by name, each with its error. */
    Map<String, String> refused() {
        return refused;
    }

    /** The next time a job's schedule of this kind fires, if any. */
    Optional<Instant> next(JobConfig j, String kind) {
        JobSchedule s = kind.equals(BACKUP) ? j.schedule() : j.verify();
        Instant last = lastFired.get(j.name() + "/" + kind);
        return s == null || last == null ? Optional.empty() : s.next(last);
    }

    /** The last run of a job's kind that succeeded, and the last run, if any; the count of runs by result. */
    Optional<JobRun> lastSuccess(String job, String kind) {
        return Optional.ofNullable(lastSuccess.get(job + "/" + kind));
    }

    Optional<JobRun> lastRun(String job, String kind) {
        return Optional.ofNullable(lastRun.get(job + "/" + kind));
    }

    /** The CBT state the device's last point committed by this daemon was read at, if it committed one since it started. */
    Optional<CbtRef> lastBackedUp(String device) {
        return Optional.ofNullable(lastBackedUp.get(device));
    }

    /** How many runs of a job's kind ended with this result, failed or cancelled. */
    long unsuccessful(String job, String kind, String result) {
        return unsuccessful.getOrDefault(JobHistory.tally(job, kind, result), 0L);
    }

    /** Queues a run; its future ends with its history entry. */
    Active submit(String name, String kind, String trigger) {
        return submit(name, kind, trigger, null);
    }

    /** The same, its progress also sent to watcher (null: none), the client of job_run. */
    Active submit(String name, String kind, String trigger, Progress watcher) {
        JobConfig j = job(name);
        Active a = new Active(j, kind, trigger, watcher);
        active.add(a);
        a.thread = Thread.ofVirtual().name("job-" + name).start(() -> {
            try {
                a.result.complete(execute(a));
            } catch (Throwable t) {
                a.result.completeExceptionally(t);
            } finally {
                active.remove(a);
            }
        });
        return a;
    }

    // ---- scheduling ----

    private void scheduleLoop() {
        while (!closed) {
            try {
                tick();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "job scheduler", e);
            }
            synchronized (this) {
                if (!closed) {
                    try {
                        wait(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }
    }

    /** Fires every schedule whose time has come (see the class doc). */
    synchronized void tick() {
        Instant now = clock.instant();
        boolean changed = false;
        for (JobConfig j : jobs.values()) {
            for (String kind : kinds(j)) {
                Optional<Instant> due = next(j, kind);
                if (due.isEmpty() || now.isBefore(due.get())) {
                    continue;
                }
                lastFired.put(j.name() + "/" + kind, now);
                changed = true;
                if (active.stream().anyMatch(a -> a.job == j && a.kind.equals(kind))) {
                    LOG.warning("job " + j.name() + ": the " + kind + " due at " + due.get()
                            + " is skipped, the last one is still queued or running");
                    continue;
                }
                submit(j.name(), kind, due.get().isBefore(startedAt) ? "missed" : "schedule");
            }
        }
        if (changed) {
            try {
                saveScheduleState();
            } catch (IOException e) {
                LOG.log(Level.WARNING, "saving the jobs' schedule state failed", e);
            }
        }
    }

    private static List<String> kinds(JobConfig j) {
        return j.verify() == null ? List.of(BACKUP) : List.of(BACKUP, VERIFY);
    }

    private Path scheduleFile() {
        return dir.resolve("schedule.json");
    }

    private void loadScheduleState() throws IOException {
        if (!Files.exists(scheduleFile())) {
            return;
        }
        JsonNode root = ControlProtocol.JSON.readTree(scheduleFile().toFile());
        root.properties().forEach(e -> lastFired.put(e.getKey(), Instant.parse(e.getValue().asText())));
    }

    private synchronized void saveScheduleState() throws IOException {
        ObjectNode root = ControlProtocol.JSON.createObjectNode();
        lastFired.forEach((k, v) -> root.put(k, v.toString()));
        Path tmp = dir.resolve("schedule.json.tmp");
        Files.write(tmp, ByteBuffer.wrap(ControlProtocol.JSON.writeValueAsBytes(root)).array());
        Files.move(tmp, scheduleFile(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    // ---- runs ----

    /** A run queued or running. */
    static final class Active {
        final JobConfig job;
        final String kind;
        final String trigger;
        final CompletableFuture<JobRun> result = new CompletableFuture<>();
        /** What a backup run did per device, for job_run's reply. */
        final List<BackupSummary> done = new CopyOnWriteArrayList<>();
        /** Who else follows the run's progress (job_run's client), or null. */
        private final Progress watcher;
        volatile Thread thread;
        private boolean running;
        private BackupRun backup;
        private boolean verifying;
        private String cancelled;

        Active(JobConfig job, String kind, String trigger, Progress watcher) {
            this.job = job;
            this.kind = kind;
            this.trigger = trigger;
            this.watcher = watcher;
        }

        /** Where the run reports: the daemon's log, and the watcher when there is one. */
        Progress progress(Progress log) {
            return watcher == null ? log : Progress.both(log, watcher);
        }

        synchronized void cancel(String why) {
            if (cancelled != null) {
                return;
            }
            cancelled = why;
            if (backup != null) {
                backup.cancel(why);
            } else if ((!running || verifying) && thread != null) {
                // waiting in the queue (a run not started yet sees the cancel when it starts), or
                // verifying: the verify's reads stop (it only reads; its channels may close)
                thread.interrupt();
            }
        }

        /**
         * The verify's reads start (a cancel interrupts them from now on; one that came before
         * stops the run here) or end (no interrupt after this, and one that came is spent, so
         * the repository closes cleanly). Called by the run's own thread.
         */
        synchronized void verifying(boolean on) throws InterruptedIOException {
            verifying = on;
            if (!on) {
                Thread.interrupted();
            } else if (cancelled != null) {
                throw new InterruptedIOException(cancelled);
            }
        }

        synchronized BackupRun backup(BackupRun b) {
            if (cancelled != null) {
                b.cancel(cancelled);
            }
            backup = b;
            return b;
        }

        synchronized String cancelled() {
            return cancelled;
        }

        synchronized boolean running() {
            return running;
        }

        /** Out of the queue: a cancel now reaches the run, not the wait. */
        synchronized void started() {
            running = true;
            if (cancelled != null) {
                Thread.interrupted(); // the interrupt came too late for the queue: the run sees the cancel itself
            }
        }
    }

    private JobRun execute(Active a) throws IOException {
        Set<String> devices = new LinkedHashSet<>(a.job.devices());
        try {
            queue.acquire(devices);
        } catch (InterruptedException e) {
            LOG.info("job " + a.job.name() + ": queued " + a.kind + " cancelled");
            JobRun r = history.start(a.job.name(), a.kind, a.trigger, clock.instant());
            return finish(a, r.finished(clock.instant(), JobRun.CANCELLED, a.cancelled(), 0, 0, List.of()));
        }
        try {
            a.started();
            JobRun r = history.start(a.job.name(), a.kind, a.trigger, clock.instant());
            LOG.info("job " + a.job.name() + ": " + a.kind + " run " + r.run() + " started (" + a.trigger + ")");
            return finish(a, a.kind.equals(BACKUP) ? backup(a, r) : verify(a, r));
        } finally {
            queue.release(devices);
        }
    }

    /** Records a run's end; the run counts as over first, so who reads its end may start the next at once. */
    private JobRun finish(Active a, JobRun r) throws IOException {
        active.remove(a);
        history.record(r);
        ended(r);
        LOG.log(r.ok() ? Level.INFO : Level.WARNING, "job " + r.job() + ": " + r.kind() + " run " + r.run() + " "
                + r.result() + (r.message().isEmpty() ? "" : ": " + r.message()));
        return r;
    }

    /** Counts a run that ended: its job's last run of its kind, and its last success or one more of its result. */
    private void ended(JobRun r) {
        String key = r.job() + "/" + r.kind();
        lastRun.put(key, r);
        if (r.ok()) {
            lastSuccess.put(key, r);
        } else {
            unsuccessful.merge(JobHistory.tally(r.job(), r.kind(), r.result()), 1L, Long::sum);
        }
    }

    private JobRun backup(Active a, JobRun r) {
        JobConfig j = a.job;
        List<BackupSummary> done = a.done;
        String result = JobRun.OK;
        String message = "";
        try {
            for (String d : j.devices()) {
                if (!attached(d)) {
                    throw new BlksnapException(Errno.ENODEV, "device " + d + " is not attached");
                }
            }
            BackupRun run = a.backup(new BackupRun(engine, exports, hooks, j.devices(), j.storage(), j.limit(), false));
            try (Repository repo = Repository.openOrCreate(RepositoryLocation.open(j.repo()),
                    RepositoryConfig.of(RepositoryConfig.DEFAULT_CHUNK_SIZE).withEncryption(j.encrypted()), j.keys(),
                    catalogs)) {
                run.run(repo, a.progress(progress.apply(j.name())), done);
            } finally {
                lastBackedUp.putAll(run.committed());
            }
            try (Repository repo = Repository.open(RepositoryLocation.open(j.repo()), ObjectStore.LockMode.PRUNE,
                    j.keys(), catalogs)) {
                PruneReport p = Pruner.prune(repo, j.retention(), j.schedule().zone());
                message = "pruned: " + p.format();
            } catch (PruneConflictException busy) {
                message = "prune skipped (" + busy.getMessage() + "); the next run applies the retention";
            } catch (IOException | RuntimeException e) {
                result = JobRun.FAILED;
                message = "the backup is committed, but the prune failed: " + describe(e);
            }
            if (j.copyTo() != null) {
                try {
                    message += "; " + copy(j, a.progress(progress.apply(j.name())));
                } catch (IOException | RuntimeException e) {
                    result = JobRun.FAILED;
                    message += "; the backup is committed, but the copy to " + j.copyTo() + " failed: " + describe(e);
                }
            }
        } catch (IOException | RuntimeException e) {
            // cancelled: what the backup (BackupRun) throws when the run was cancelled (a failing pre-take
            // hook throws ECANCELED too, uncancelled: a failure); a cancel once the backup is committed
            // stops neither the prune nor the copy, and their failure is the run's
            result = a.cancelled() != null && e instanceof BlksnapException b && b.errno() == Errno.ECANCELED
                    ? JobRun.CANCELLED : JobRun.FAILED;
            message = describe(e);
        }
        long read = done.stream().mapToLong(s -> s.stats().bytesRead()).sum();
        long stored = done.stream().mapToLong(s -> s.stats().storedBytes()).sum();
        JobRun end = r.finished(clock.instant(), result, message, read, stored,
                done.stream().map(BackupSummary::pointId).toList());
        return end;
    }

    /**
     * Copies to the job's second repository every point of its devices that it lacks (created
     * there when missing, encrypted when the job names a password or key file for it): what
     * `jblksnap copy` does. Its own retention does not apply there; prune it on its own.
     */
    private static String copy(JobConfig j, Progress progress) throws IOException {
        int copied = 0;
        int gone;
        long stored = 0;
        try (Repository from = Repository.open(j.repo(), false, j.keys());
                // copy keys make copy_to encrypted whatever the job's encryption (openOrCreate)
                Repository to = Repository.openOrCreate(j.copyTo(), from.config().likeThis().withEncryption(j.encrypted()),
                        j.copyKeys())) {
            List<Point> points = new ArrayList<>();
            for (String d : j.devices()) {
                points.addAll(from.points().list(d));
            }
            points.sort(Point.OLDEST_FIRST);
            PointCopier.Report report = new PointCopier(from, to, progress, Runtime.getRuntime().availableProcessors())
                    .copy(points);
            for (CopySummary c : report.copied()) {
                copied++;
                stored += c.storedBytes();
            }
            gone = report.gone();
        }
        return "copied " + copied + " point" + (copied == 1 ? "" : "s") + " to " + j.copyTo() + " (" + stored
                + " bytes stored" + (gone == 0 ? "" : "; " + gone + " removed from the source by a prune meanwhile")
                + ")";
    }

    private JobRun verify(Active a, JobRun r) {
        try (Repository repo = Repository.open(a.job.repo(), false, a.job.keys())) {
            VerifyReport v;
            a.verifying(true);
            try {
                v = new Verifier(repo, a.progress(progress.apply(a.job.name())), Runtime.getRuntime().availableProcessors())
                        .verify(null);
            } finally {
                a.verifying(false);
            }
            return r.finished(clock.instant(), v.ok() ? JobRun.OK : JobRun.FAILED,
                    v.ok() ? v.format() : String.join("; ", v.problems()), v.bytes(), 0, List.of());
        } catch (IOException | RuntimeException e) {
            String cancelled = a.cancelled();
            return r.finished(clock.instant(), cancelled != null ? JobRun.CANCELLED : JobRun.FAILED,
                    cancelled != null ? cancelled : describe(e), 0, 0, List.of());
        }
    }

    private boolean attached(String device) {
        return engine.trackers().stream().anyMatch(t -> t.name().equals(device));
    }

    private static String describe(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    // ---- verbs ----

    private JobConfig job(String name) {
        JobConfig j = jobs.get(name);
        if (j == null && refused.containsKey(name)) {
            throw new InvalidArgumentException(refused.get(name));
        }
        if (j == null) {
            throw new InvalidArgumentException("no job named '" + name + "'"
                    + (jobs.isEmpty() ? "; this daemon has no jobs (see --config)" : "; jobs: " + String.join(", ", jobs.keySet())));
        }
        return j;
    }

    private ObjectNode list() {
        ObjectNode r = ControlProtocol.JSON.createObjectNode();
        ArrayNode list = r.putArray("jobs");
        for (JobConfig j : jobs.values()) {
            ObjectNode o = list.addObject().put("job", j.name()).put("devices", String.join(",", j.devices()))
                    .put("repo", j.repo()).put("schedule", j.schedule().toString())
                    .put("next_run", next(j, BACKUP).map(Instant::toString).orElse(""))
                    .put("keep", keep(j));
            if (j.verify() != null) {
                o.put("verify", j.verify().toString()).put("next_verify", next(j, VERIFY).map(Instant::toString).orElse(""));
            }
            if (j.keys().passwordFile() != null) {
                o.put("password_file", j.keys().passwordFile().toString());
            }
            if (j.keys().keyFile() != null) {
                o.put("key_file", j.keys().keyFile().toString());
            }
            String state = "idle";
            for (Active a : active) {
                if (a.job == j) {
                    state = a.running() ? "running" : state.equals("idle") ? "queued" : state;
                }
            }
            o.put("state", state);
            lastRun(j.name(), BACKUP).ifPresent(l -> o.put("last_result", l.result()).put("last_end",
                    l.end() == null ? "" : l.end().toString()));
        }
        refused.forEach((name, error) -> list.addObject().put("job", name).put("state", "refused").put("error", error));
        return r;
    }

    private static String keep(JobConfig j) {
        var k = j.retention();
        int[] counts = {k.last(), k.hourly(), k.daily(), k.weekly(), k.monthly(), k.yearly()};
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] != 0) {
                parts.add(Retention.RULES.get(i) + "=" + (counts[i] < 0 ? "all" : counts[i]));
            }
        }
        return String.join(" ", parts);
    }

    /**
     * job_run: a run of the job now, after those queued on its devices; its progress goes back
     * as events, as backup's does, and a client that goes away (Ctrl-C) cancels this run, not
     * the job's others.
     */
    private ObjectNode runVerb(JsonNode a, ControlEvents events) throws Exception {
        String name = ControlHandler.text(a, "name");
        String kind = a.path("verify").asBoolean(false) ? VERIFY : BACKUP;
        job(name);
        JobRun r;
        AtomicReference<Active> submitted = new AtomicReference<>();
        String gone = "the client went away (interrupted)";
        Active run;
        try (ProgressEvents watcher = new ProgressEvents(events, () -> {
            LOG.info("job " + name + ": the client of job_run went away; the run is cancelled");
            Active x = submitted.get();
            if (x != null) {
                x.cancel(gone);
            }
        })) {
            run = submit(name, kind, "manual", watcher);
            submitted.set(run);
            if (watcher.clientGone()) {
                run.cancel(gone); // gone before the run was there to cancel
            }
            try {
                r = run.result.get();
            } catch (ExecutionException e) {
                throw e.getCause() instanceof Exception x ? x : e;
            }
        }
        if (!r.ok()) {
            throw new BlksnapException(r.result().equals(JobRun.CANCELLED) ? Errno.ECANCELED : Errno.EIO,
                    "job " + name + ": " + kind + " run " + r.run() + " " + r.result() + ": " + r.message());
        }
        ObjectNode o = r.toJson();
        ArrayNode devices = o.putArray("devices");
        ArrayNode report = o.putArray("report");
        for (BackupSummary s : run.done) {
            devices.add(ControlProtocol.JSON.valueToTree(s.fields()));
            report.add(s.format());
        }
        return o;
    }

    /**
     * backup: what `jblksnap backup` asks, run in the daemon's process (its code warm, no JVM
     * to start): the devices backed up into the repository as a job's run would be, after the
     * runs queued on them, with no prune. Progress goes back as events; when the client goes
     * away (Ctrl-C) the run is cancelled: the snapshot destroyed, no point of the device being
     * read committed.
     */
    private ObjectNode backupVerb(JsonNode a, ControlEvents events) throws Exception {
        List<String> devices = new ArrayList<>();
        a.path("devices").forEach(d -> devices.add(d.asText()));
        if (devices.isEmpty()) {
            throw new InvalidArgumentException("backup needs devices");
        }
        String repo = RepositoryLocation.absolute(ControlHandler.text(a, "repo"));
        KeyFiles keys = LiveRestores.keyFiles(a);
        Path storage = a.hasNonNull("storage") ? Path.of(a.get("storage").asText())
                : Path.of(System.getProperty("java.io.tmpdir"));
        long limit = a.path("limit").asLong(JobConfig.DEFAULT_LIMIT);
        boolean encrypted = JobConfig.encrypted("", a.path("encryption").asText(RepositoryConfig.ENCRYPTED), keys);
        RepositoryConfig config = RepositoryConfig.of(a.path("chunk_size").asInt(RepositoryConfig.DEFAULT_CHUNK_SIZE))
                .withEncryption(encrypted);
        devices.forEach(engine::tracker); // an unknown device: the error blksnap gives, before anything is made
        BackupRun run = new BackupRun(engine, exports, hooks, devices, storage, limit, a.path("full").asBoolean());
        Thread caller = Thread.currentThread();
        AtomicBoolean waiting = new AtomicBoolean(true);
        Set<String> queued = new LinkedHashSet<>(devices);
        List<BackupSummary> done = new ArrayList<>();
        requested.add(run);
        try (ProgressEvents progress = new ProgressEvents(events, () -> {
            LOG.info("backup of " + String.join(", ", devices) + ": the client went away; the run is cancelled");
            run.cancel("the client went away (interrupted)");
            if (waiting.get()) {
                caller.interrupt();
            }
        })) {
            queue.acquire(queued);
            waiting.set(false);
            JsonNode aws = a.path("s3");
            S3Credentials s3 = new S3Credentials(aws.path("access_key_id").textValue(),
                    aws.path("secret_access_key").textValue(), aws.path("session_token").textValue(),
                    aws.path("region").textValue());
            try (Repository r = Repository.openOrCreate(RepositoryLocation.open(repo, s3), config, keys, catalogs)) {
                run.run(r, progress, done);
            } finally {
                lastBackedUp.putAll(run.committed());
                queue.release(queued);
            }
        } catch (InterruptedException e) {
            throw new BlksnapException(Errno.ECANCELED, "the client went away while the backup waited for its devices");
        } finally {
            requested.remove(run);
            Thread.interrupted(); // an interrupt from a client that left after the run ended
        }
        ObjectNode o = ControlProtocol.JSON.createObjectNode();
        ArrayNode summaries = o.putArray("devices");
        ArrayNode report = o.putArray("report");
        for (BackupSummary s : done) {
            summaries.add(ControlProtocol.JSON.valueToTree(s.fields()));
            report.add(s.format());
        }
        return o;
    }

    private ObjectNode historyVerb(JsonNode a) {
        String name = a.hasNonNull("name") ? ControlHandler.text(a, "name") : null;
        if (name != null && !refused.containsKey(name)) {
            job(name); // a refused job's runs from before are shown
        }
        ObjectNode r = ControlProtocol.JSON.createObjectNode();
        ArrayNode runs = r.putArray("runs");
        history.list(name).forEach(x -> runs.add(x.toJson()));
        return r;
    }

    private ObjectNode cancelVerb(JsonNode a) {
        JobConfig j = job(ControlHandler.text(a, "name"));
        int n = 0;
        for (Active x : active) {
            if (x.job == j) {
                x.cancel("cancelled by job_cancel");
                n++;
            }
        }
        if (n == 0) {
            throw new BlksnapException(Errno.ESRCH, "job " + j.name() + " has no run queued or running");
        }
        return ControlProtocol.JSON.createObjectNode().put("job", j.name()).put("cancelled", n);
    }

    /** Stops the scheduler, cancels the runs and waits for them to record their end. */
    @Override
    public void close() {
        closed = true;
        synchronized (this) {
            notifyAll();
        }
        for (Active a : active) {
            a.cancel("the daemon stopped");
        }
        for (BackupRun r : requested) {
            r.cancel("the daemon stopped");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_WAIT_SECONDS);
        for (Active a : active) {
            try {
                a.result.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                LOG.warning("job " + a.job.name() + ": its run did not end when the daemon stopped: " + e);
            }
        }
    }
}
