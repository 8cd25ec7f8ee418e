package org.jblksnap.error;

/** The Linux errno values blksnap reports, by name and number. */
public enum Errno {
    EPERM(1), ENOENT(2), ESRCH(3), EIO(5), ENXIO(6), EBADF(9), ENOMEM(12), EACCES(13), EBUSY(16),
    EEXIST(17), ENODEV(19), ENOTDIR(20), EINVAL(22), EFBIG(27), ENOSPC(28), EROFS(30), ERANGE(34),
    ENOTSUP(95), ESHUTDOWN(108), ETIMEDOUT(110), EALREADY(114);

    private final int code;

    Errno(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static Errno byName(String name) {
        return valueOf(name);
    }
}
