package org.jblksnap.error;

/**
 * The device is already in another snapshot, or in use by one and cannot be detached, or
 * overlaps what jblksnap already uses, or something else on the host holds it (blksnap: -EBUSY).
 */
public final class DeviceBusyException extends BlksnapException {
    public DeviceBusyException(String message) {
        super(Errno.EBUSY, message);
    }
}
