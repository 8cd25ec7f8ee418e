package org.jblksnap.backup.repo;

import java.io.IOException;

/** A stored block is missing, cannot be decompressed, or does not hash to its name. */
public final class BadBlockException extends IOException {
    private final Hash hash;
    private final boolean missing;

    public BadBlockException(Hash hash, boolean missing, String problem) {
        super("block " + hash.hex() + ": " + problem);
        this.hash = hash;
        this.missing = missing;
    }

    public Hash hash() {
        return hash;
    }

    public boolean missing() {
        return missing;
    }
}
