package org.jblksnap.error;

/**
 * Image I/O on a snapshot whose difference storage overflowed or failed: the image no longer
 * shows the device at take, so every image read and write fails with EIO (the snapshot's own
 * error code, which snapshot_info reports, says why: −ENOSPC after an overflow).
 */
public final class SnapshotCorruptedException extends EngineIOException {
    public SnapshotCorruptedException(String message) {
        super(Errno.EIO, message);
    }
}
