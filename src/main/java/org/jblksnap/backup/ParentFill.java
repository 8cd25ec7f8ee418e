package org.jblksnap.backup;

import java.io.IOException;
import java.io.InterruptedIOException;

import org.jblksnap.repo.Geometry;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.ManifestsAhead;
import org.jblksnap.repo.PackStore;

/**
 * The previous point of a run, block by block: its manifests (what an incremental run keeps
 * for the chunks it does not read, and what any run compares its chunks with to count the
 * changed ones), and the content of its chunks, to complete a chunk of which only the
 * changed ranges were read.
 */
final class ParentFill {
    private final PackStore store;
    private final Geometry geometry;
    private final boolean needed;
    /** Its manifests, read ahead ({@link #prefetch}); null when there is no previous point. */
    private final ManifestsAhead ahead;

    /**
     * @param previous the index of the device's previous point, or null when there is none
     * @param needed whether the run is incremental to it (an unreadable manifest then fails
     *        the run; otherwise the block's chunks are counted as if there were no previous point)
     */
    ParentFill(PackStore store, Geometry geometry, HashList previous, boolean needed) {
        this.store = store;
        this.geometry = geometry;
        this.needed = needed;
        this.ahead = previous == null ? null : new ManifestsAhead(store, geometry, previous);
    }

    /**
     * Starts reading the previous point's manifest of the block, so that it is there when the
     * block's data is: an incremental run needs one for nearly every block it reads. The
     * caller bounds how many blocks are in flight, and so how many of these.
     */
    void prefetch(int block) {
        if (ahead != null) {
            ahead.readAhead(block);
        }
    }

    /**
     * The previous point's manifest of the block (all zero hashes for a block of zeroes), or
     * null when there is no previous point, or when a full run cannot read it. Never null in
     * an incremental run, the only one whose blocks take ranges from the previous point.
     */
    HashList manifest(int block) throws IOException {
        if (ahead == null) {
            return null;
        }
        try {
            return ahead.take(block);
        } catch (InterruptedIOException e) {
            throw e;
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
        Hash h = manifest.get(c);
        if (h.isZero()) {
            ranges.zeroIn(buf);
        } else {
            ranges.copyInto(buf, store.chunk(h, geometry.chunkLength(block, c)), c * geometry.chunkSize());
        }
    }
}
