package org.jblksnap.error;

/**
 * A device path named in a request cannot be used: it does not exist (ENOENT), is neither
 * a regular file nor a block device (EINVAL), or the kernel refused to open it (its errno).
 * Nothing was opened or changed.
 */
public final class PathException extends BlksnapException {
    public PathException(Errno errno, String message) {
        super(errno, message);
    }
}
