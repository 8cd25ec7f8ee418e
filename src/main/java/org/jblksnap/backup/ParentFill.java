package org.jblksnap.backup;

import java.io.IOException;
import java.util.Arrays;

import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.PackStore;
import org.jblksnap.repo.PointMeta;

/**
 * The previous point of a run, block by block: its manifests (what an incremental run keeps
 * for the chunks it does not read, and what any run compares its chunks with to count the
 * changed ones), and the content of its chunks, to complete a chunk of which only the
 * changed ranges were read.
 */
final class ParentFill {
    private final PackStore store;
    private final PointMeta geometry;
    private final HashList previous;
    private final boolean needed;

    /**
     * @param previous the index of the device's previous point, or null when there is none
     * @param needed whether the run is incremental to it (an unreadable manifest then fails
     *        the run; otherwise the block's chunks are counted as if there were no previous point)
     */
    ParentFill(PackStore store, PointMeta geometry, HashList previous, boolean needed) {
        this.store = store;
        this.geometry = geometry;
        this.previous = previous;
        this.needed = needed;
    }

    /**
     * The previous point's manifest of the block (all zero hashes for a block of zeroes), or
     * null when there is no previous point, or when a full run cannot read it.
     */
    HashList manifest(int block) throws IOException {
        if (previous == null) {
            return null;
        }
        try {
            return store.manifest(geometry, previous, block);
        } catch (IOException e) {
            if (needed) {
                throw e;
            }
            return null;
        }
    }

    /**
     * Copies into buf the ranges (relative to the block) of chunk c, of which manifest (the
     * previous point's) names the content; nothing when the ranges are empty.
     */
    void fill(Ranges ranges, byte[] buf, HashList manifest, int block, int c) throws IOException {
        if (ranges.isEmpty()) {
            return;
        }
        Hash h = needed(manifest, block).get(c);
        int from = c * geometry.chunkSize();
        copy(ranges, buf, h.isZero() ? null : store.chunk(h, geometry.chunkLength(block, c)), from);
    }

    /** The manifest, which block needs: it takes chunks from the parent point. */
    static HashList needed(HashList manifest, int block) {
        if (manifest == null) {
            throw new IllegalStateException("block " + block + " needs a parent point and the run has none");
        }
        return manifest;
    }

    /** Zeroes the ranges of buf. */
    static void zero(Ranges ranges, byte[] buf) {
        copy(ranges, buf, null, 0);
    }

    /** Copies the ranges from src (whose byte 0 is byte srcStart of buf), or zeroes them when src is null. */
    private static void copy(Ranges ranges, byte[] buf, byte[] src, int srcStart) {
        for (int i = 0; i < ranges.count(); i++) {
            int from = (int) ranges.start(i);
            int to = (int) ranges.end(i);
            if (src == null) {
                Arrays.fill(buf, from, to, (byte) 0);
            } else {
                System.arraycopy(src, from - srcStart, buf, from, to - from);
            }
        }
    }
}
