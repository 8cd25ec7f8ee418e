package org.jblksnap.repo;

/**
 * Which bytes of a device each place of a point's index and of a block's manifest stands for
 * ({@code docs/REPOSITORY.md#blocks-chunks-and-manifests}): block i covers the device's bytes
 * [i·blockSize, (i+1)·blockSize), chunk c of a block the block's bytes
 * [c·chunkSize, (c+1)·chunkSize); the device's last block and chunk may be short.
 */
public record Geometry(long size, int blockSize, int chunkSize) {
    public Geometry {
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
