package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.device.BlockIo;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.snapshot.HostStack;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.tracker.Tracker;

/**
 * The tracked devices and snapshot images of an engine as files of a FUSE mount: a device is
 * {@code DIR/<name>}, an image {@code DIR/<device>@<snapshot-id>}, each of its device's size
 * and read-write through the tracker or the image. Files come and go with attach/take and
 * detach/destroy (it subscribes to the engine); {@link #loops()} turns them into loop devices,
 * which go with them.
 *
 * <p>It is also the engine's {@link HostStack}: it tells which host file is one of its exports,
 * and freezes the file systems mounted on loop devices over a snapshot's device files at take
 * ({@link FileSystemFreezer}).
 *
 * <p>At construction a mount and loop devices left under the directory by a crashed process
 * are cleaned up first ({@link LoopDevices#cleanupStale}).
 */
public final class FuseExports implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(FuseExports.class.getName());

    /**
     * Tuning of the mount.
     *
     * @param maxThreads    FUSE worker threads at most (libfuse max_threads)
     * @param maxWrite      largest request in bytes the kernel sends (max_write)
     * @param maxBackground asynchronous requests (loop direct I/O) the kernel queues at once
     */
    public record Options(int maxThreads, int maxWrite, int maxBackground) {
        /**
         * Few threads: buffered writes to one backing file serialise on its inode lock in the
         * kernel, and more threads than cores only spin on it (bench-fuse: 1 MiB writes at
         * 4 threads ran twice as fast as at 16 on 2 cores; reads lost nothing).
         */
        public static Options defaults() {
            return new Options(Math.max(4, 2 * Runtime.getRuntime().availableProcessors()), 1 << 20, 64);
        }
    }

    private final Path mountDir;
    private final ExportFileSystem fs;
    private final LoopDevices loops;
    private final SnapshotManager.Subscription subscription;
    private final FileSystemFreezer freezer;
    private final SnapshotManager.Subscription hostStack;
    private final FuseMount mount;
    private boolean closed;

    public FuseExports(SnapshotManager manager, Path mountDir) throws IOException {
        this(manager, mountDir, Options.defaults());
    }

    public FuseExports(SnapshotManager manager, Path mountDir, Options options) throws IOException {
        this.mountDir = mountDir.toAbsolutePath().normalize();
        LoopDevices.cleanupStale(this.mountDir);
        Files.createDirectories(this.mountDir);
        this.mount = new FuseMount(this.mountDir, options);
        this.fs = mount.fs();
        this.loops = new LoopDevices(this.mountDir, fs::contains);
        this.subscription = manager.subscribe(new Listener());
        this.freezer = new FileSystemFreezer(this.mountDir);
        this.hostStack = manager.addHostStack(new Stack());
        LOG.info(() -> "FUSE exports mounted at " + this.mountDir);
    }

    public Path mountDir() {
        return mountDir;
    }

    /** The file of an export (present or not). */
    public Path file(String exportName) {
        return mountDir.resolve(exportName);
    }

    /** Whether reads and writes of the files bypass the kernel's page cache (FUSE direct_io). */
    public boolean directIo() {
        return fs.directIo();
    }

    /** Loop devices over this mount's files. */
    public LoopDevices loops() {
        return loops;
    }

    /** Thaws what a take cut short left frozen, detaches the loop devices set up here, then unmounts. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        hostStack.close();
        freezer.thawAll();
        subscription.close();
        IOException failure = null;
        try {
            loops.close();
        } catch (IOException e) {
            failure = e;
        }
        try {
            mount.close();
        } catch (IOException e) {
            if (failure == null) {
                failure = e;
            } else {
                failure.addSuppressed(e);
            }
        }
        LOG.info(() -> "FUSE exports at " + mountDir + " unmounted");
        if (failure != null) {
            throw failure;
        }
    }

    private void add(String name, BlockIo io) {
        fs.add(new ExportFile(name, io));
        LOG.fine(() -> "export " + name + " appears under " + mountDir);
    }

    /**
     * The export's file goes at once; its loop device, if it has one, is detached by
     * {@link LoopDevices}' worker (losetup may take long, and this runs under the engine's
     * monitor). I/O through that loop device fails meanwhile, as the export's device or image
     * is closed right after.
     */
    private void remove(String name) {
        loops.exportGone(name);
        fs.remove(name);
        LOG.fine(() -> "export " + name + " gone from " + mountDir);
    }

    private final class Listener implements SnapshotManager.Listener {
        @Override
        public void deviceAttached(Tracker tracker) {
            add(tracker.name(), tracker);
        }

        @Override
        public void deviceDetaching(Tracker tracker) {
            remove(tracker.name());
        }

        @Override
        public void imageCreated(SnapshotImage image) {
            add(image.name(), image);
        }

        @Override
        public void imageDestroying(SnapshotImage image) {
            remove(image.name());
        }
    }

    private final class Stack implements HostStack {
        @Override
        public Optional<String> exportOf(Path file) {
            Path f = file.toAbsolutePath().normalize();
            return mountDir.equals(f.getParent()) ? Optional.of(f.getFileName().toString()) : Optional.empty();
        }

        @Override
        public HostStack.Thaw freeze(List<String> devices) {
            return freezer.freeze(devices);
        }
    }

    static {
        // jfuse logs through System.Logger; keep it quiet unless asked.
        Logger.getLogger("org.cryptomator.jfuse").setLevel(Level.WARNING);
    }
}
