package org.jblksnap.error;

/** The operation needs a taken snapshot, e.g. an image of a device whose snapshot is not taken. */
public final class SnapshotNotTakenException extends BlksnapException {
    public SnapshotNotTakenException(String message) {
        super(Errno.ENOENT, message);
    }
}
