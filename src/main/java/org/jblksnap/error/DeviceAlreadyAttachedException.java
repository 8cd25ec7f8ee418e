package org.jblksnap.error;

/** A device of that name, or on that path, is already attached. */
public final class DeviceAlreadyAttachedException extends BlksnapException {
    public DeviceAlreadyAttachedException(String message) {
        super(Errno.EALREADY, message);
    }
}
