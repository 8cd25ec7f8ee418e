package org.jblksnap.backup;

import java.io.IOException;
import java.util.Arrays;

import org.jblksnap.backup.repo.BlockStore;
import org.jblksnap.backup.repo.Hash;
import org.jblksnap.backup.repo.PointIndex;

/**
 * Completes a block of which only the changed ranges were read: zeroes where they are known
 * to be, and the parent point's bytes (decompressed and checked against their hash) where
 * the block has not changed since that point.
 */
final class ParentFill {
    private final BlockStore store;
    private final PointIndex parent;

    /** @param parent the index of the point the run is incremental to; null for a full run */
    ParentFill(BlockStore store, PointIndex parent) {
        this.store = store;
        this.parent = parent;
    }

    void complete(int block, BlockRead r, byte[] buf) throws IOException {
        fill(r.zero(), buf, null);
        if (r.parent().isEmpty()) {
            return;
        }
        if (parent == null) {
            throw new IllegalStateException("block " + block + " needs a parent point and the run has none");
        }
        Hash h = parent.get(block);
        fill(r.parent(), buf, h.isZero() ? null : store.get(h, r.length()));
    }

    /** Copies the ranges from src, or zeroes them when src is null. */
    private static void fill(Ranges ranges, byte[] buf, byte[] src) {
        for (int i = 0; i < ranges.count(); i++) {
            int from = (int) ranges.start(i);
            int to = (int) ranges.end(i);
            if (src == null) {
                Arrays.fill(buf, from, to, (byte) 0);
            } else {
                System.arraycopy(src, from, buf, from, to - from);
            }
        }
    }
}
