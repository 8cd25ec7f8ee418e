package org.jblksnap.error;

import java.io.IOException;

/**
 * Image I/O on a snapshot whose difference storage overflowed or failed: the image no longer
 * shows the device at take, so every image read and write fails with EIO.
 */
public final class SnapshotCorruptedException extends IOException {
    public SnapshotCorruptedException(String message) {
        super(message);
    }
}
