package org.jblksnap.error;

/** I/O on a device that was detached meanwhile (ENODEV); its export is going away. */
public final class NoSuchDeviceException extends BlksnapException {
    public NoSuchDeviceException(String message) {
        super(Errno.ENODEV, message);
    }
}
