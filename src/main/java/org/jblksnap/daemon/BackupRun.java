package org.jblksnap.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.backup.BackupRequest;
import org.jblksnap.backup.BackupRunner;
import org.jblksnap.backup.BackupSummary;
import org.jblksnap.backup.CbtRef;
import org.jblksnap.backup.Progress;
import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.control.TakeHooks;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;
import org.jblksnap.repo.Repository;
import org.jblksnap.snapshot.SnapshotManager;

/**
 * One backup run inside the daemon, for {@code jblksnap backup} and for jobs: a snapshot
 * of every device at one instant, created and taken (between the take hooks) by the daemon's
 * own engine, each image read as the export the daemon's NBD server serves it as, in this
 * process ({@link DaemonExports}), by the same {@link BackupRunner} a client's run uses (so the
 * points and the figures are the same), then the snapshot destroyed, also when the run fails.
 *
 * <p>Cancel, from any thread: the snapshot is destroyed at once, so the image exports go away
 * and the read in progress fails; a point is committed only after all its device's data is
 * stored ({@link Repository#commit}), so a cancelled run leaves the points of the devices it
 * finished, whole, and nothing of the device it was reading but unused pack entries, which a
 * prune removes.
 */
final class BackupRun {
    private static final Logger LOG = Logger.getLogger(BackupRun.class.getName());

    private final SnapshotManager engine;
    private final DaemonExports exports;
    private final TakeHooks hooks;
    private final List<String> devices;
    private final Path storage;
    private final long limit;
    private final boolean full;
    /** The CBT state each device's committed point was read at, by device. */
    private final Map<String, CbtRef> committed = new ConcurrentHashMap<>();
    private UUID snapshot;
    private boolean destroyed;
    private String cancelled;

    /** @param full read everything even where the CBT knows what changed */
    BackupRun(SnapshotManager engine, DaemonExports exports, TakeHooks hooks, List<String> devices, Path storage, long limit,
            boolean full) {
        this.engine = engine;
        this.exports = exports;
        this.hooks = hooks;
        this.devices = List.copyOf(devices);
        this.storage = storage;
        this.limit = limit;
        this.full = full;
    }

    /** What the run did, device by device; those it finished before a failure are in {@code done}. */
    List<BackupSummary> run(Repository repo, Progress progress, List<BackupSummary> done) throws IOException {
        UUID id;
        synchronized (this) {
            checkCancelled();
            id = engine.create(storage, limit, devices);
            snapshot = id;
        }
        try {
            hooks.around(id, devices, TakeHooks.Commands.DEFAULTS, () -> engine.take(id));
            BackupRunner runner = new BackupRunner(repo, progress);
            for (String device : devices) {
                BackupRequest req;
                String name; // -d may give a path; the metrics know devices by name
                synchronized (this) {
                    checkCancelled();
                    name = engine.tracker(device).name();
                    CbtInfo cbt = engine.cbtInfo(device);
                    req = BackupRequest.of(device, exports.address(), engine.image(device).name(),
                            new CbtRef(cbt.generationId().toString(), cbt.changesNumber()));
                }
                done.add(runner.run(full ? req.forcingFull() : req, exports.opener(req.exportName())));
                committed.put(name, req.cbt());
            }
            return done;
        } catch (IOException | RuntimeException e) {
            synchronized (this) {
                if (cancelled != null) {
                    BlksnapException c = new BlksnapException(Errno.ECANCELED, cancelled);
                    c.addSuppressed(e);
                    throw c;
                }
            }
            throw e;
        } finally {
            destroy();
        }
    }

    /** The CBT state of each device whose point this run committed (also when a later device failed). */
    Map<String, CbtRef> committed() {
        return Map.copyOf(committed);
    }

    /** Stops the run: its snapshot destroyed now, the run fails with this reason. */
    void cancel(String why) {
        synchronized (this) {
            if (cancelled == null) {
                cancelled = why;
            }
        }
        destroy();
    }

    private void checkCancelled() {
        if (cancelled != null) {
            throw new BlksnapException(Errno.ECANCELED, cancelled);
        }
    }

    private synchronized void destroy() {
        if (snapshot == null || destroyed) {
            return;
        }
        destroyed = true;
        try {
            engine.destroy(snapshot);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "destroying snapshot " + snapshot + " of a backup run failed", e);
        }
    }
}
