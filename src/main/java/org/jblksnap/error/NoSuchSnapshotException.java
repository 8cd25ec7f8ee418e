package org.jblksnap.error;

/** No snapshot has that id (blksnap: -ENOENT). */
public final class NoSuchSnapshotException extends BlksnapException {
    public NoSuchSnapshotException(String message) {
        super(Errno.ENOENT, message);
    }
}
