package org.jblksnap.backup.repo;

import java.time.Instant;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What a point records besides its index: the device and its size, when it was taken, the
 * CBT generation and changes number of the snapshot it was read from (so the next backup
 * knows which changes to ask for; null when the source had no CBT), the point it was made
 * incremental to (null for a full read), the repository block size, and what the run did.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PointMeta(String device, long size, int blockSize, Instant created, String generation,
        Integer changesNumber, Long parent, String source, PointStats stats) {

    public PointMeta {
        if (device == null || device.isEmpty()) {
            throw new IllegalArgumentException("a point needs a device name");
        }
        if (size <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("a point needs a positive size and block size");
        }
    }

    public int blockCount() {
        return Math.toIntExact((size + blockSize - 1) / blockSize);
    }

    /** The byte length of block i (the last one may be short). */
    public int blockLength(int i) {
        return (int) Math.min(blockSize, size - (long) i * blockSize);
    }
}
