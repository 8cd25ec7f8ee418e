package org.jblksnap.error;

/** A snapshot without devices cannot be taken (blksnap: -ENODEV). */
public final class NoDevicesException extends BlksnapException {
    public NoDevicesException(String message) {
        super(Errno.ENODEV, message);
    }
}
