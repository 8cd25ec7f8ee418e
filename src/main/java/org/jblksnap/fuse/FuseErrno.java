package org.jblksnap.fuse;

import java.io.IOException;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;

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
    static final int EISDIR = -Errno.EISDIR.code();

    private FuseErrno() {
    }

    /**
     * The negative errno for a failure of an operation on the named export: the engine's
     * errno ({@link Errno#of}), passed through as it is. Failures the engine expects (a
     * corrupted or destroyed image, a bad request) are logged quietly; a plain I/O error is a
     * warning; anything else is a bug and logged with its stack.
     */
    static int of(String op, String export, Throwable t) {
        Errno errno = Errno.of(t);
        if (t instanceof BlksnapException || t instanceof EngineIOException || t instanceof IllegalArgumentException) {
            LOG.log(Level.FINE, () -> op + " on " + export + ": " + t.getMessage());
        } else if (t instanceof IOException) {
            LOG.log(Level.WARNING, op + " on " + export + " failed: " + t.getMessage());
        } else {
            LOG.log(Level.SEVERE, op + " on " + export + " failed unexpectedly", t);
        }
        return -errno.code();
    }
}
