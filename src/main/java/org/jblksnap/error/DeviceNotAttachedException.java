package org.jblksnap.error;

/**
 * No device of that name or path is attached (blksnap: ENOENT, what its filter control answers
 * for a block device that has no filter).
 */
public final class DeviceNotAttachedException extends BlksnapException {
    public DeviceNotAttachedException(String message) {
        super(Errno.ENOENT, message);
    }
}
