package org.jblksnap.repo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * New manifests not appended to a pack yet, in the order they came: their entries (compressed,
 * sealed in an encrypted repository) back to back. {@link PackAppender} appends them to its
 * open pack together, so that a point's manifests lie in a few runs instead of one between
 * every block's chunks. Not thread-safe: the appender guards it.
 */
final class HeldManifests {
    /** One held manifest: its id, where its entry is in {@link #bytes}, and its raw length. */
    record Held(Hash id, int offset, int length, int rawLength) {
    }

    private final List<Held> held = new ArrayList<>();
    private final Set<Hash> ids = new HashSet<>();
    private byte[] bytes = new byte[64 << 10];
    private int size;

    /** Whether a manifest of that id is held. */
    boolean holds(Hash id) {
        return ids.contains(id);
    }

    /** Holds a copy of entry[0, length), the stored form of a manifest of rawLength bytes. */
    void add(Hash id, byte[] entry, int length, int rawLength) {
        if (size + length > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + length));
        }
        System.arraycopy(entry, 0, bytes, size, length);
        held.add(new Held(id, size, length, rawLength));
        ids.add(id);
        size += length;
    }

    /** Bytes of the entries held. */
    int size() {
        return size;
    }

    boolean isEmpty() {
        return held.isEmpty();
    }

    /** The manifests held, in the order they came; their entries are in {@link #bytes}. */
    List<Held> held() {
        return held;
    }

    /** The entries held, back to back; valid until {@link #clear}. */
    byte[] bytes() {
        return bytes;
    }

    /** Forgets them all (appended, or dropped with an abandoned pack). */
    void clear() {
        held.clear();
        ids.clear();
        size = 0;
    }
}
