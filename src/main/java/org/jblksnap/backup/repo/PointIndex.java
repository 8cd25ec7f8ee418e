package org.jblksnap.backup.repo;

import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;

/**
 * A point's map from block number (device offset / block size) to the hash of the block's
 * content, {@link BlockHash#ZERO} for a block of zeroes. Thread-safe for writers of
 * distinct blocks once handed to them.
 */
public final class PointIndex {
    private final byte[] hashes;
    private final int count;

    public PointIndex(int count) {
        this(count, new byte[Math.multiplyExact(count, BlockHash.BYTES)]);
    }

    private PointIndex(int count, byte[] hashes) {
        this.count = count;
        this.hashes = hashes;
    }

    /** Wraps the serialized form (count × 32 bytes). */
    static PointIndex fromBytes(byte[] raw) {
        if (raw.length % BlockHash.BYTES != 0) {
            throw new IllegalArgumentException("index of " + raw.length + " bytes is not whole hashes");
        }
        return new PointIndex(raw.length / BlockHash.BYTES, raw);
    }

    byte[] toBytes() {
        return hashes;
    }

    public int count() {
        return count;
    }

    public BlockHash get(int block) {
        return BlockHash.read(ByteBuffer.wrap(hashes, Math.multiplyExact(block, BlockHash.BYTES), BlockHash.BYTES));
    }

    public void set(int block, BlockHash h) {
        h.write(ByteBuffer.wrap(hashes, Math.multiplyExact(block, BlockHash.BYTES), BlockHash.BYTES));
    }

    public PointIndex copy() {
        return new PointIndex(count, hashes.clone());
    }

    /** The stored blocks this index uses, without zero blocks. */
    public Set<BlockHash> storedBlocks() {
        Set<BlockHash> s = new HashSet<>();
        for (int i = 0; i < count; i++) {
            BlockHash h = get(i);
            if (!h.isZero()) {
                s.add(h);
            }
        }
        return s;
    }
}
