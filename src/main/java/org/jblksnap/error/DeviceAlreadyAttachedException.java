package org.jblksnap.error;

/**
 * A device of that name, or on that path, is already attached; or a device is already in the
 * snapshot it is added to (blksnap: EALREADY).
 */
public final class DeviceAlreadyAttachedException extends BlksnapException {
    public DeviceAlreadyAttachedException(String message) {
        super(Errno.EALREADY, message);
    }
}
