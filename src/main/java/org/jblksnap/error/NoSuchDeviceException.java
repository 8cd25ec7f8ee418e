package org.jblksnap.error;

/** No attached device has that name (blksnap: -ENODEV). */
public final class NoSuchDeviceException extends BlksnapException {
    public NoSuchDeviceException(String message) {
        super(Errno.ENODEV, message);
    }
}
