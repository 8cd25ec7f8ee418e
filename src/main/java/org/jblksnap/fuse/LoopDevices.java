package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.error.NoSuchDeviceException;

/**
 * Loop devices over the files of a {@link FuseExports} mount, so that a host without an NBD
 * driver gets real block devices. Each is set up with direct I/O (no second page cache over
 * the FUSE file), or buffered when the kernel refuses direct I/O on it. What is set up here is
 * recorded: an export's loop device goes when the export goes (detach, destroy) and all of
 * them at close. The record is also kept on disk, next to the mount directory
 * ({@code .<dir>.loops}: one "device TAB backing file" per line), so that the cleanup after a
 * crash detaches only loop devices this daemon set up, never another one whose file happens
 * to lie under the same directory.
 */
public final class LoopDevices {
    private static final Logger LOG = Logger.getLogger(LoopDevices.class.getName());
    /** losetup -d is given 60 s (SystemTools); a few of them queued fit in this. */
    private static final long SETTLE_TIMEOUT_SECONDS = 180;

    /** A loop device set up here. */
    public record Loop(String device, String exportName, Path file, boolean directIo) {
    }

    /** What {@link #cleanupStale} took down. */
    public record Cleanup(List<String> detachedLoops, boolean unmounted) {
    }

    private final Path mountDir;
    private final Predicate<String> exported;
    private final Map<String, Loop> loops = new LinkedHashMap<>();
    /** One thread that detaches the loop devices of exports that went, in order. */
    private final ExecutorService teardown = Executors.newSingleThreadExecutor(
            Thread.ofVirtual().name("loop-teardown").factory());

    LoopDevices(Path mountDir, Predicate<String> exported) {
        this.mountDir = mountDir.toAbsolutePath().normalize();
        this.exported = exported;
    }

    /** Where the loop devices set up over the files of mountDir are recorded. */
    static Path recordOf(Path mountDir) {
        Path dir = mountDir.toAbsolutePath().normalize();
        return dir.resolveSibling("." + dir.getFileName() + ".loops");
    }

    /** Writes the record of the loop devices set up now (none: no record). */
    private void saveRecord() throws IOException {
        Path record = recordOf(mountDir);
        if (loops.isEmpty()) {
            Files.deleteIfExists(record);
            return;
        }
        StringBuilder sb = new StringBuilder();
        for (Loop l : loops.values()) {
            sb.append(l.device()).append('\t').append(l.file()).append('\n');
        }
        Path tmp = record.resolveSibling(record.getFileName() + ".tmp");
        Files.writeString(tmp, sb);
        Files.move(tmp, record, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Attaches the export's file to a free loop device and returns its path (/dev/loopN).
     * An export that already has one gets the same device again.
     */
    public synchronized String attach(String exportName) throws IOException {
        Loop known = loops.get(exportName);
        if (known != null && LoopSysfs.backs(known.device(), known.file())) {
            return known.device();
        }
        loops.remove(exportName);
        if (!exported.test(exportName)) {
            throw new NoSuchDeviceException("no export named '" + exportName + "' under " + mountDir);
        }
        Path file = mountDir.resolve(exportName);
        SystemTools.Result r = SystemTools.run("losetup", "--find", "--show", "--direct-io=on", file.toString());
        if (!r.ok()) {
            String why = r.describe();
            LOG.warning(() -> "losetup with direct I/O failed for " + file + " (" + why + "); trying buffered I/O");
            r = SystemTools.check("losetup", "--find", "--show", "--direct-io=off", file.toString());
        }
        String device = r.out().strip();
        boolean directIo = LoopSysfs.directIo(device);
        if (!directIo) {
            LOG.warning(() -> "loop device " + device + " over " + file + " runs without direct I/O (the kernel refused it)");
        }
        Loop loop = new Loop(device, exportName, file, directIo);
        loops.put(exportName, loop);
        saveRecord();
        LOG.info(() -> "export " + exportName + " attached to " + device + (directIo ? " (direct I/O)" : " (buffered)"));
        return device;
    }

    /** Detaches the export's loop device; a device still in use goes at its last close. */
    public synchronized void detach(String exportName) throws IOException {
        Loop loop = loops.remove(exportName);
        if (loop == null) {
            throw new NoSuchDeviceException("export '" + exportName + "' has no loop device");
        }
        try {
            release(loop);
        } finally {
            saveRecord();
        }
    }

    /** Detaches every loop device set up here; tries them all and reports the first failure. */
    private synchronized void detachAll() throws IOException {
        IOException first = null;
        for (Loop loop : List.copyOf(loops.values())) {
            loops.remove(loop.exportName());
            try {
                release(loop);
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        try {
            saveRecord();
        } catch (IOException e) {
            if (first == null) {
                first = e;
            } else {
                first.addSuppressed(e);
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** The loop devices set up here and still recorded. */
    public synchronized List<Loop> list() {
        return List.copyOf(loops.values());
    }

    /** The export's loop device, or null. */
    public synchronized Loop of(String exportName) {
        return loops.get(exportName);
    }

    /**
     * The export is going: its loop device too, without failing or holding up the caller (it
     * runs under the engine's monitor, and losetup can take seconds). The device is forgotten
     * at once and detached by the worker; {@link #settle()} waits for that.
     */
    synchronized void exportGone(String exportName) {
        Loop loop = loops.remove(exportName);
        if (loop == null) {
            return;
        }
        teardown.execute(() -> {
            try {
                release(loop);
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "detaching " + loop.device() + " of export " + exportName + " failed", e);
            }
        });
    }

    /** Waits until the loop devices of exports that went are detached (bounded). */
    public void settle() throws IOException {
        try {
            teardown.submit(() -> { }).get(SETTLE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while loop devices were being detached", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("loop devices of removed exports were not detached in " + SETTLE_TIMEOUT_SECONDS + " s", e);
        }
    }

    /** Detaches every loop device, those of exports that went first; the worker stops. */
    void close() throws IOException {
        try {
            settle();
        } finally {
            teardown.shutdown();
            detachAll();
        }
    }

    /**
     * After a crash: detaches the loop devices recorded for mountDir that still back the
     * recorded file under it, and lazily unmounts a FUSE mount there whose server is dead.
     * Refuses when a live process serves it. A loop device not recorded is never touched.
     */
    public static Cleanup cleanupStale(Path mountDir) throws IOException {
        Path dir = mountDir.toAbsolutePath().normalize();
        boolean mounted = StaleMounts.isFuseMount(dir);
        if (mounted && StaleMounts.served(dir)) {
            throw new IOException(dir + " is already a FUSE mount served by a running process");
        }
        List<String> detached = new ArrayList<>();
        Path record = recordOf(dir);
        Map<String, String> recorded = new LinkedHashMap<>();
        if (Files.exists(record)) {
            for (String line : Files.readAllLines(record)) {
                int tab = line.indexOf('\t');
                if (tab > 0) {
                    recorded.put(line.substring(0, tab), line.substring(tab + 1));
                }
            }
        }
        Map<String, String> backing = LoopSysfs.backingFiles();
        for (Map.Entry<String, String> e : recorded.entrySet()) {
            if (e.getValue().startsWith(dir + "/") && e.getValue().equals(backing.get(e.getKey()))) {
                SystemTools.Result r = SystemTools.run("losetup", "-d", e.getKey());
                if (r.ok()) {
                    detached.add(e.getKey());
                    LOG.info(() -> "detached stale loop device " + e.getKey() + " over " + e.getValue());
                } else {
                    LOG.warning(() -> "could not detach stale loop device " + e.getKey() + ": " + r.describe());
                }
            }
        }
        Files.deleteIfExists(record);
        if (mounted) {
            StaleMounts.unmount(dir);
            LOG.info(() -> "unmounted the stale FUSE mount at " + dir);
        }
        return new Cleanup(List.copyOf(detached), mounted);
    }

    /** losetup -d, unless the device no longer backs our file (cleared, maybe reused by someone else). */
    private static void release(Loop loop) throws IOException {
        if (!LoopSysfs.backs(loop.device(), loop.file())) {
            LOG.fine(() -> loop.device() + " no longer backs " + loop.file() + "; nothing to detach");
            return;
        }
        SystemTools.Result r = SystemTools.run("losetup", "-d", loop.device());
        if (!r.ok() && LoopSysfs.backs(loop.device(), loop.file())) {
            throw new IOException("detaching " + loop.device() + " of export " + loop.exportName() + ": " + r.describe());
        }
        LOG.info(() -> "export " + loop.exportName() + " detached from " + loop.device());
    }
}
