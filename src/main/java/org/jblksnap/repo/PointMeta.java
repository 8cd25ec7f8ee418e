package org.jblksnap.repo;

import java.time.Instant;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What a point records besides its index: the device and its size, the repository's block
 * and chunk sizes (its geometry: block i covers bytes [i·blockSize, (i+1)·blockSize) of the
 * device, chunk c of a block its bytes [c·chunkSize, (c+1)·chunkSize); the last of each may
 * be short), when it was taken, the CBT generation and changes number of the snapshot it was
 * read from (so the next backup knows which changes to ask for; null when the source had no
 * CBT), the point it was made incremental to (null for a full read), and what the run did.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PointMeta(String device, long size, int blockSize, int chunkSize, Instant created, String generation,
        Integer changesNumber, Long parent, String source, PointStats stats) {

    public PointMeta {
        if (device == null || device.isEmpty()) {
            throw new IllegalArgumentException("a point needs a device name");
        }
        if (size <= 0 || blockSize <= 0 || chunkSize <= 0) {
            throw new IllegalArgumentException("a point needs a positive size, block size and chunk size");
        }
        if (Integer.bitCount(chunkSize) != 1 || blockSize % chunkSize != 0) {
            throw new IllegalArgumentException("chunk size " + chunkSize + " does not divide block size " + blockSize);
        }
    }

    public int blockCount() {
        return Math.toIntExact((size + blockSize - 1) / blockSize);
    }

    /** The byte length of block i (the last one may be short). */
    public int blockLength(int i) {
        return (int) Math.min(blockSize, size - (long) i * blockSize);
    }

    /** The number of chunks of block i: the hashes in its manifest. */
    public int chunkCount(int block) {
        return (blockLength(block) + chunkSize - 1) / chunkSize;
    }

    /** The byte length of chunk c of block i (the last one of the device may be short). */
    public int chunkLength(int block, int c) {
        return Math.min(chunkSize, blockLength(block) - c * chunkSize);
    }
}
