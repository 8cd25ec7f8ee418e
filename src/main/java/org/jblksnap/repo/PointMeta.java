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
        new Geometry(size, blockSize, chunkSize); // checks them
    }

    public Geometry geometry() {
        return new Geometry(size, blockSize, chunkSize);
    }
}
