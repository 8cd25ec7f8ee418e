package org.jblksnap.error;

/** A request with a bad argument: a size, offset, range, limit or name (-EINVAL). */
public final class InvalidArgumentException extends BlksnapException {
    public InvalidArgumentException(String message) {
        super(Errno.EINVAL, message);
    }
}
