package org.jblksnap.repo;

import java.nio.ByteBuffer;

/**
 * A fixed number of hashes, stored as count × 32 bytes: a point's index (for each block of
 * the device, the hash of its manifest) or a block's manifest (for each chunk of the block,
 * the hash of its content): {@code docs/REPOSITORY.md#blocks-chunks-and-manifests}.
 * {@link Hash#ZERO} stands for a block or chunk of zeroes. Thread-safe for writers of
 * distinct places once handed to them.
 */
public final class HashList {
    private final byte[] hashes;
    private final int count;

    public HashList(int count) {
        this(count, new byte[Math.multiplyExact(count, Hash.BYTES)]);
    }

    private HashList(int count, byte[] hashes) {
        this.count = count;
        this.hashes = hashes;
    }

    /** Wraps the serialized form (count × 32 bytes). */
    static HashList fromBytes(byte[] raw) {
        if (raw.length % Hash.BYTES != 0) {
            throw new IllegalArgumentException(raw.length + " bytes are not whole hashes");
        }
        return new HashList(raw.length / Hash.BYTES, raw);
    }

    /** The serialized form; not to be changed. */
    byte[] bytes() {
        return hashes;
    }

    public int count() {
        return count;
    }

    public Hash get(int i) {
        return Hash.read(ByteBuffer.wrap(hashes, Math.multiplyExact(i, Hash.BYTES), Hash.BYTES));
    }

    public void set(int i, Hash h) {
        h.write(ByteBuffer.wrap(hashes, Math.multiplyExact(i, Hash.BYTES), Hash.BYTES));
    }

    public HashList copy() {
        return new HashList(count, hashes.clone());
    }

    /** Whether every hash is {@link Hash#ZERO}. */
    public boolean isZero() {
        for (byte b : hashes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }
}
