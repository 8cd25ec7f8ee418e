package org.jblksnap.repo;

import java.time.Instant;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A point's metadata, the JSON at the head of its file: its fields are described in
 * {@code docs/REPOSITORY.md#point-files}; null ones are left out. The geometry (size, block
 * and chunk sizes) says which bytes of the device each place of the index and of a manifest
 * stands for.
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
