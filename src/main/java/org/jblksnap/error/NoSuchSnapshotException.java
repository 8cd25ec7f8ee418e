package org.jblksnap.error;

import java.util.UUID;

/**
 * No snapshot has that id. blksnap answers ESRCH (take, add, wait for an event, info) but
 * ENODEV when the snapshot to destroy is unknown; the two factories keep that difference.
 */
public final class NoSuchSnapshotException extends BlksnapException {
    private NoSuchSnapshotException(Errno errno, String message) {
        super(errno, message);
    }

    /** ESRCH: what every verb but destroy reports. */
    public static NoSuchSnapshotException of(String id) {
        return new NoSuchSnapshotException(Errno.ESRCH, "no snapshot with id " + id);
    }

    public static NoSuchSnapshotException of(UUID id) {
        return of(id.toString());
    }

    /** ENODEV: snapshot_destroy of an unknown snapshot. */
    public static NoSuchSnapshotException toDestroy(String id) {
        return new NoSuchSnapshotException(Errno.ENODEV, "no snapshot with id " + id + " to destroy");
    }
}
