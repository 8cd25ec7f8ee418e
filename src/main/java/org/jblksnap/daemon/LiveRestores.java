package org.jblksnap.daemon;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.control.ControlHandler;
import org.jblksnap.control.ControlProtocol;
import org.jblksnap.device.BlockDevice;
import org.jblksnap.error.DeviceAlreadyAttachedException;
import org.jblksnap.error.DeviceBusyException;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.AtomicFiles;
import org.jblksnap.repo.KeyFiles;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.PointImage;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryLocation;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.tracker.Backfill;
import org.jblksnap.tracker.Tracker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The `restore_live` and `restore_status` verbs: a backup point restored onto a target that is
 * attached at once (the engine's backfill, package doc of {@code tracker}) while a background
 * copy fills it. Each restore's state is {@code restore/<device>.state} in the daemon's state
 * directory; a daemon killed mid-way leaves it, and the next restore_live of the same point to
 * the same device name resumes from it.
 */
final class LiveRestores implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(LiveRestores.class.getName());
    private static final long SAVE_PERIOD_NANOS = 5_000_000_000L;

    private final SnapshotManager engine;
    private final Path stateDir;
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();

    LiveRestores(SnapshotManager engine, Path stateDir) {
        this.engine = engine;
        this.stateDir = stateDir.resolve("restore");
    }

    void register(ControlHandler handler) {
        handler.guardAttach(this::refuseUnfinished);
        handler.register("restore_live", this::start);
        handler.register("restore_status", a -> status(ControlHandler.text(a, "device")));
    }

    /**
     * Refuses a plain attach of a target whose live restore has not finished (the daemon died or
     * stopped during it), under its name or any other: part of it is still the point's, part
     * not, and only {@code restore --live} of the same point completes it. Each restore records
     * its target in {@code restore/<device>.target} beside its state until it is done.
     */
    synchronized void refuseUnfinished(String device, Path path) throws IOException {
        if (!Files.isDirectory(stateDir)) {
            return;
        }
        try (var targets = Files.newDirectoryStream(stateDir, "*.target")) {
            for (Path t : targets) {
                String name = t.getFileName().toString().replaceFirst("\\.target$", "");
                if (!Files.exists(stateDir.resolve(name + ".state"))) {
                    continue;
                }
                Path target = Path.of(Files.readString(t).strip());
                if (name.equals(device) || BlockDevice.sameFile(target, path)) {
                    throw new DeviceBusyException(path + " is half restored (the live restore of device " + name
                            + " did not finish): run restore --live of the same point again to complete it, or "
                            + "remove " + stateDir.resolve(name + ".state") + " to give up that restore");
                }
            }
        }
    }

    private synchronized ObjectNode start(JsonNode a) throws IOException {
        String device = ControlHandler.text(a, "device");
        Path target = Path.of(ControlHandler.text(a, "path"));
        String repoDir = RepositoryLocation.absolute(ControlHandler.text(a, "repo"));
        long pointId = a.path("point").asLong(-1);
        Job running = jobs.get(device);
        if (running != null && running.thread.isAlive()) {
            throw new DeviceAlreadyAttachedException("device " + device + " is being restored live already");
        }
        Files.createDirectories(stateDir);
        Repository repo = Repository.open(repoDir, false, keyFiles(a));
        try {
            Point point = repo.points().get(pointId);
            PointImage image = PointImage.open(repo, pointId);
            String source = "backup point " + pointId + " of " + repoDir;
            Path state = stateDir.resolve(device + ".state");
            boolean resumed = Files.exists(state);
            AtomicFiles.replace(stateDir.resolve(device + ".target"),
                    ByteBuffer.wrap(target.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8)));
            Tracker t = engine.attachRestoring(device, target, d -> Backfill.open(d, image, source,
                    repoDir + "#point-" + pointId, point.meta().geometry().chunkSize(), state));
            Job job = new Job(device, t.backfill(), repo);
            jobs.put(device, job);
            job.thread.start();
            LOG.info(() -> "live restore of " + source + " to " + target + " as device " + device
                    + (resumed ? ", resumed at " + t.backfill().restoredBytes() + " bytes" : ""));
            return status(device).put("point", pointId).put("resumed", resumed);
        } catch (IOException | RuntimeException e) {
            repo.close();
            throw e;
        }
    }

    private ObjectNode status(String device) {
        Job job = jobs.get(device);
        if (job == null) {
            throw new InvalidArgumentException("no live restore of device " + device + " in this daemon");
        }
        ObjectNode r = ControlProtocol.JSON.createObjectNode().put("device", device).put("state", job.state)
                .put("size", job.backfill.size()).put("restored_bytes", job.backfill.restoredBytes())
                .put("failed_bytes", job.failedBytes);
        if (job.error != null) {
            r.put("error", job.error);
        }
        return r;
    }

    /** Stops the copies (their state is saved when the engine detaches the devices). */
    @Override
    public void close() {
        for (Job j : jobs.values()) {
            j.thread.interrupt();
        }
        for (Job j : jobs.values()) {
            try {
                j.thread.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The background copy of one device: every unit not restored yet, in order. */
    private final class Job implements Runnable {
        final String device;
        final Backfill backfill;
        final Repository repo;
        final Thread thread;
        volatile String state = "running";
        volatile long failedBytes;
        volatile String error;

        Job(String device, Backfill backfill, Repository repo) {
            this.device = device;
            this.backfill = backfill;
            this.repo = repo;
            this.thread = Thread.ofPlatform().name("restore-" + device).daemon().unstarted(this);
        }

        @Override
        public void run() {
            try {
                long lastSave = System.nanoTime();
                for (long u = 0; u < backfill.units() && !Thread.currentThread().isInterrupted(); u++) {
                    try {
                        backfill.fill(u);
                    } catch (IOException e) {
                        if (!isAttached()) {
                            break;
                        }
                        failedBytes += backfill.unitBytes();
                        if (error == null) {
                            error = e.getMessage();
                        }
                        LOG.warning(() -> "live restore of " + device + ": " + e.getMessage());
                    }
                    if (System.nanoTime() - lastSave > SAVE_PERIOD_NANOS) {
                        backfill.save();
                        lastSave = System.nanoTime();
                    }
                }
                if (backfill.complete()) {
                    engine.finishRestore(device);
                    Files.deleteIfExists(stateDir.resolve(device + ".target"));
                    state = "done";
                } else {
                    state = failedBytes > 0 ? "failed" : "stopped";
                    if (isAttached()) {
                        backfill.save();
                    }
                }
            } catch (IOException | RuntimeException e) {
                state = "failed";
                error = e.getMessage();
                LOG.log(Level.WARNING, "live restore of " + device + " stopped", e);
            } finally {
                try {
                    repo.close();
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "closing the repository of the live restore of " + device, e);
                }
            }
            LOG.info(() -> "live restore of " + device + ": " + state + ", " + backfill.restoredBytes() + " of "
                    + backfill.size() + " bytes");
        }

        private boolean isAttached() {
            try {
                return engine.tracker(device).backfill() == backfill;
            } catch (RuntimeException e) {
                return false;
            }
        }
    }

    /** The password or key file the client named (absolute paths), read by the daemon if the repository is encrypted. */
    static KeyFiles keyFiles(JsonNode a) {
        return new KeyFiles(a.hasNonNull("password_file") ? Path.of(a.get("password_file").asText()) : null,
                a.hasNonNull("key_file") ? Path.of(a.get("key_file").asText()) : null);
    }
}
