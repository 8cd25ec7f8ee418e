package org.jblksnap.error;

/**
 * The Linux errno values the engine reports, by name and number, and the one rule that says
 * which errno a failure carries ({@link #of}). Each front end turns that errno into its own
 * wire form in exactly one place: NBD's error numbers ({@code nbd.server.Commands.errorOf}),
 * a FUSE reply ({@code fuse.FuseErrno}), a control reply ({@code control.ControlHandler}).
 */
public enum Errno {
    EPERM(1), ENOENT(2), ESRCH(3), EIO(5), ENXIO(6), EBADF(9), ENOMEM(12), EACCES(13), EFAULT(14), EBUSY(16),
    EEXIST(17), ENODEV(19), ENOTDIR(20), EISDIR(21), EINVAL(22), EFBIG(27), ENOSPC(28), EROFS(30), ERANGE(34),
    EOVERFLOW(75), ENOTSUP(95), ESHUTDOWN(108), ETIMEDOUT(110), EALREADY(114), EDQUOT(122), ECANCELED(125);

    private final int code;

    Errno(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The errno with this number; EIO for a number this list does not name. */
    public static Errno ofCode(int code) {
        for (Errno e : values()) {
            if (e.code == code) {
                return e;
            }
        }
        return EIO;
    }

    /**
     * The errno of a failure: the one an engine exception carries ({@link BlksnapException},
     * {@link EngineIOException}); EINVAL for a bad argument the JDK refused; ENOMEM when memory
     * ran out; EIO for every other failure.
     */
    public static Errno of(Throwable t) {
        if (t instanceof BlksnapException b) {
            return b.errno();
        }
        if (t instanceof EngineIOException e) {
            return e.errno();
        }
        if (t instanceof IllegalArgumentException) {
            return EINVAL;
        }
        if (t instanceof OutOfMemoryError) {
            return ENOMEM;
        }
        return EIO;
    }
}
