package org.jblksnap.error;

/**
 * The difference storage path or limit cannot be used (missing, wrong kind, limit below what
 * the file already holds, the storage is a tracked device or another snapshot's storage);
 * nothing was created or changed.
 */
public final class StorageException extends BlksnapException {
    public StorageException(Errno errno, String message) {
        super(errno, message);
    }
}
