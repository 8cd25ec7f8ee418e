package org.jblksnap.repo;

/**
 * What a pack entry holds: a chunk of device data, or a manifest (the hashes of a block's
 * chunks). The type is part of an entry's identity, so that a manifest is never taken for
 * data nor data for a manifest, even when their bytes are the same.
 */
public enum EntryType {
    CHUNK(1, "chunk"),
    MANIFEST(2, "manifest");

    /** The byte that stands for the type in a pack index. */
    final int code;
    private final String label;

    EntryType(int code, String label) {
        this.code = code;
        this.label = label;
    }

    static EntryType of(int code) {
        for (EntryType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("entry type " + code + " is unknown");
    }

    @Override
    public String toString() {
        return label;
    }
}
