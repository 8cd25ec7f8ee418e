package org.jblksnap.error;

/**
 * An error of the snapshot engine's interface: what the blksnap module would return as a
 * negative errno from an ioctl. The subclasses name each case; {@link #errno()} is what a
 * control client sees.
 */
public class BlksnapException extends RuntimeException {
    private final Errno errno;

    public BlksnapException(Errno errno, String message) {
        super(message);
        this.errno = errno;
    }

    public BlksnapException(Errno errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    public Errno errno() {
        return errno;
    }
}
