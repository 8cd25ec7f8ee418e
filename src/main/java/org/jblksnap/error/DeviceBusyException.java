package org.jblksnap.error;

/** The device is already in a snapshot, or in use by one and cannot be detached (blksnap: -EBUSY). */
public final class DeviceBusyException extends BlksnapException {
    public DeviceBusyException(String message) {
        super(Errno.EBUSY, message);
    }
}
