package org.jblksnap.error;

/** The snapshot was already taken, so it cannot be taken again or get devices (blksnap: -EALREADY). */
public final class SnapshotAlreadyTakenException extends BlksnapException {
    public SnapshotAlreadyTakenException(String message) {
        super(Errno.EALREADY, message);
    }
}
