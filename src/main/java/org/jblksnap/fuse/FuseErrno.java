package org.jblksnap.fuse;

import java.io.IOException;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.diff.DiffStorageOverflowException;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.ImageClosedException;
import org.jblksnap.error.SnapshotCorruptedException;

/**
 * What a FUSE operation returns for an error: the negative Linux errno. A callback must never
 * let an exception escape into native code (the JVM would abort), so every operation funnels
 * its failures through {@link #of}.
 */
final class FuseErrno {
    private static final Logger LOG = Logger.getLogger(FuseErrno.class.getName());

    static final int ENOENT = -Errno.ENOENT.code();
    static final int EIO = -Errno.EIO.code();
    static final int EBADF = -Errno.EBADF.code();
    static final int EINVAL = -Errno.EINVAL.code();
    static final int ENOSPC = -Errno.ENOSPC.code();
    static final int EROFS = -Errno.EROFS.code();
    static final int ENOTDIR = -Errno.ENOTDIR.code();
    static final int EISDIR = -21;

    private FuseErrno() {
    }

    /** The negative errno for a failure of an operation on the named export. */
    static int of(String op, String export, Throwable t) {
        if (t instanceof SnapshotCorruptedException || t instanceof DiffStorageOverflowException) {
            // The image no longer shows the device at take: every access fails.
            LOG.log(Level.FINE, () -> op + " on " + export + ": " + t.getMessage());
            return EIO;
        }
        if (t instanceof ImageClosedException) {
            LOG.log(Level.FINE, () -> op + " on " + export + ": " + t.getMessage());
            return EIO;
        }
        if (t instanceof BlksnapException b) {
            LOG.log(Level.FINE, () -> op + " on " + export + ": " + t.getMessage());
            return -b.errno().code();
        }
        if (t instanceof IllegalArgumentException) {
            LOG.log(Level.FINE, () -> op + " on " + export + ": " + t.getMessage());
            return EINVAL;
        }
        if (t instanceof IOException) {
            LOG.log(Level.WARNING, op + " on " + export + " failed: " + t.getMessage());
            return EIO;
        }
        LOG.log(Level.SEVERE, op + " on " + export + " failed unexpectedly", t);
        return EIO;
    }
}
