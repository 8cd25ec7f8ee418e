package org.jblksnap.diff;

import java.io.IOException;

/** An allocation the difference storage cannot meet: the snapshot is lost (-ENOSPC). */
public final class DiffStorageOverflowException extends IOException {
    public DiffStorageOverflowException(String message) {
        super(message);
    }
}
