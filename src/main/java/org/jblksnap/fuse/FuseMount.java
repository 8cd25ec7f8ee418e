package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

import org.cryptomator.jfuse.api.Fuse;
import org.cryptomator.jfuse.api.FuseBuilder;
import org.cryptomator.jfuse.api.FuseMountFailedException;

/**
 * One FUSE mount of an {@link ExportFileSystem} (jfuse over libfuse3): mounted at
 * construction, its files added and removed by the owner, unmounted at {@link #close()}.
 */
final class FuseMount implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(FuseMount.class.getName());
    private static final long RELEASE_WAIT_NANOS = 2_000_000_000L;

    private final Path dir;
    private final ExportFileSystem fs;
    private final Fuse fuse;

    FuseMount(Path dir, FuseExports.Options options) throws IOException {
        this.dir = dir;
        FuseBuilder builder = Fuse.builder();
        builder.setLibraryPath(LibFuse.path());
        this.fs = new ExportFileSystem(builder.errno(), options);
        try {
            fuse = builder.build(fs);
        } catch (UnsatisfiedLinkError e) {
            throw new IOException("libfuse3 could not be loaded (" + e.getMessage() + "); install fuse3/libfuse3"
                    + " or name the library in " + LibFuse.ENV, e);
        }
        try {
            fuse.mount("jblksnap", dir, "-o", mountOptions(options));
        } catch (FuseMountFailedException | RuntimeException e) {
            closeFuse();
            throw new IOException("mounting FUSE at " + dir + " failed: " + e.getMessage(), e);
        }
    }

    private static String mountOptions(FuseExports.Options o) {
        // Zero timeouts: a file shows up or goes the moment its export does.
        return String.join(",", "fsname=jblksnap", "subtype=jblksnap", "entry_timeout=0", "negative_timeout=0",
                "attr_timeout=0", "max_threads=" + o.maxThreads());
    }

    ExportFileSystem fs() {
        return fs;
    }

    /** Unmounts; files still open lose their connection (see {@link #abortIfStillOpen}). */
    @Override
    public void close() throws IOException {
        abortIfStillOpen();
        closeFuse();
    }

    /**
     * A file still open on the mount (a loop device that is mounted, a process reading a file)
     * would keep the kernel's FUSE connection alive after the unmount, and the FUSE loop would
     * never stop. A forced unmount aborts the connection: the open files get errors from now on.
     */
    private void abortIfStillOpen() throws IOException {
        long until = System.nanoTime() + RELEASE_WAIT_NANOS;
        // The kernel sends the release of a closed file asynchronously.
        while (fs.openHandles() > 0 && System.nanoTime() < until) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int open = fs.openHandles();
        if (open > 0) {
            LOG.warning(() -> open + " file(s) of " + dir + " still open (a mounted loop device?);"
                    + " aborting the FUSE connection, they get I/O errors from now on");
            SystemTools.check("umount", "--force", "--lazy", dir.toString());
        }
    }

    private void closeFuse() throws IOException {
        try {
            fuse.close();
        } catch (TimeoutException e) {
            throw new IOException("the FUSE loop at " + dir + " did not stop", e);
        }
    }
}
