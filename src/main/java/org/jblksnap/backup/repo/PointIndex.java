package org.jblksnap.backup.repo;

import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;

/**
 * A point's map from block number (device offset / block size) to the hash of the block's
 * content, {@link Hash#ZERO} for a block of zeroes. Thread-safe for writers of
 * distinct blocks once handed to them.
 */
public final class PointIndex {
    private final byte[] hashes;
    private final int count;

    public PointIndex(int count) {
        this(count, new byte[Math.multiplyExact(count, Hash.BYTES)]);
    }

    private PointIndex(int count, byte[] hashes) {
        this.count = count;
        this.hashes = hashes;
    }

    /** Wraps the serialized form (count × 32 bytes). */
    static PointIndex fromBytes(byte[] raw) {
        if (raw.length % Hash.BYTES != 0) {
            throw new IllegalArgumentException("index of " + raw.length + " bytes is not whole hashes");
        }
        return new PointIndex(raw.length / Hash.BYTES, raw);
    }

    byte[] toBytes() {
        return hashes;
    }

    public int count() {
        return count;
    }

    public Hash get(int block) {
        return Hash.read(ByteBuffer.wrap(hashes, Math.multiplyExact(block, Hash.BYTES), Hash.BYTES));
    }

    public void set(int block, Hash h) {
        h.write(ByteBuffer.wrap(hashes, Math.multiplyExact(block, Hash.BYTES), Hash.BYTES));
    }

    public PointIndex copy() {
        return new PointIndex(count, hashes.clone());
    }

    /** The stored blocks this index uses, without zero blocks. */
    public Set<Hash> storedBlocks() {
        Set<Hash> s = new HashSet<>();
        for (int i = 0; i < count; i++) {
            Hash h = get(i);
            if (!h.isZero()) {
                s.add(h);
            }
        }
        return s;
    }
}
