package org.jblksnap.repo;

import java.time.Instant;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A point's metadata, the JSON at the head of its file: its fields are described in
 * {@code docs/REPOSITORY.md#point-files}; null ones are left out. The geometry (size, block
 * and chunk sizes) says which bytes of the device each place of the index and of a manifest
 * stands for. origin is set on a point that {@code copy} made: the repository and point it
 * is a copy of ({@code docs/REPOSITORY.md#copy}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PointMeta(String device, long size, int blockSize, int chunkSize, Instant created, String generation,
        Integer changesNumber, Long parent, String source, PointStats stats, Origin origin) {

    /** Where a copied point comes from: the source repository's id and the point's number there. */
    public record Origin(String repository, long point) {
        public Origin {
            if (repository == null || repository.isEmpty()) {
                throw new IllegalArgumentException("a point's origin needs a repository id");
            }
        }
    }

    public PointMeta {
        if (device == null || device.isEmpty()) {
            throw new IllegalArgumentException("a point needs a device name");
        }
        new Geometry(size, blockSize, chunkSize); // checks them
    }

    /** The metadata of a point made by a backup (no origin). */
    public PointMeta(String device, long size, int blockSize, int chunkSize, Instant created, String generation,
            Integer changesNumber, Long parent, String source, PointStats stats) {
        this(device, size, blockSize, chunkSize, created, generation, changesNumber, parent, source, stats, null);
    }

    /** The same metadata as a copy: the parent given (null: none) and where it comes from. */
    public PointMeta copiedAs(Long newParent, Origin from) {
        return new PointMeta(device, size, blockSize, chunkSize, created, generation, changesNumber, newParent, source,
                stats, from);
    }

    public Geometry geometry() {
        return new Geometry(size, blockSize, chunkSize);
    }
}
