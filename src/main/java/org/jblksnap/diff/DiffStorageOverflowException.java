package org.jblksnap.diff;

import org.jblksnap.error.Errno;
import org.jblksnap.error.EngineIOException;

/**
 * An allocation the difference storage cannot meet: the snapshot is lost (its error code
 * becomes −ENOSPC). The chunk map records it and reports image I/O from then on as
 * {@link org.jblksnap.error.SnapshotCorruptedException}; it never reaches a front end itself.
 */
public final class DiffStorageOverflowException extends EngineIOException {
    public DiffStorageOverflowException(String message) {
        super(Errno.ENOSPC, message);
    }
}
