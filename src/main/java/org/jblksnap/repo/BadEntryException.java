package org.jblksnap.repo;

import java.io.IOException;

/**
 * A stored chunk or manifest is missing, cannot be decompressed, has the wrong length, or
 * does not hash to its name.
 */
public final class BadEntryException extends IOException {
    private final Hash hash;
    private final boolean missing;

    public BadEntryException(EntryType type, Hash hash, boolean missing, String problem) {
        super(type + " " + hash.hex() + ": " + problem);
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
