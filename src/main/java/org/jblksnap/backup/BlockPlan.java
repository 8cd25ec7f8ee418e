package org.jblksnap.backup;

import java.util.BitSet;
import java.util.List;

import org.jblksnap.backup.nbd.Extent;
import org.jblksnap.nbd.protocol.Nbd;

/**
 * Which repository blocks a run must read: every block (full) or those a dirty bitmap
 * touches (incremental), less those that base:allocation says read as zeroes.
 */
final class BlockPlan {
    private final int blockSize;
    private final int count;
    private final BitSet inScope;
    private final BitSet zero;

    private BlockPlan(int blockSize, int count, BitSet inScope, BitSet zero) {
        this.blockSize = blockSize;
        this.count = count;
        this.inScope = inScope;
        this.zero = zero;
    }

    /**
     * @param allocation base:allocation extents over the device, or null when unknown
     * @param dirty dirty bitmap extents over the device, or null for a full read
     */
    static BlockPlan of(long size, int blockSize, List<Extent> allocation, List<Extent> dirty) {
        int count = Math.toIntExact((size + blockSize - 1) / blockSize);
        BitSet scope = new BitSet(count);
        if (dirty == null) {
            scope.set(0, count);
        } else {
            mark(scope, dirty, Nbd.STATE_DIRTY, true, blockSize);
        }
        BitSet zero = new BitSet(count);
        if (allocation != null) {
            BitSet data = new BitSet(count);
            mark(data, allocation, Nbd.STATE_ZERO, false, blockSize);
            zero.set(0, count);
            zero.andNot(data);
        }
        return new BlockPlan(blockSize, count, scope, zero);
    }

    /** Sets the blocks touched by extents that have (or, with want false, lack) the flag. */
    private static void mark(BitSet set, List<Extent> extents, int flag, boolean want, int blockSize) {
        for (Extent e : extents) {
            if (e.has(flag) == want && e.length() > 0) {
                set.set(Math.toIntExact(e.offset() / blockSize), Math.toIntExact((e.end() - 1) / blockSize) + 1);
            }
        }
    }

    int count() {
        return count;
    }

    /** Blocks to read from the source. */
    BitSet toRead() {
        BitSet r = (BitSet) inScope.clone();
        r.andNot(zero);
        return r;
    }

    /** Blocks in scope known to be zero without reading. */
    BitSet knownZero() {
        BitSet r = (BitSet) inScope.clone();
        r.and(zero);
        return r;
    }

    long bytesToRead(long size) {
        BitSet r = toRead();
        long n = (long) r.cardinality() * blockSize;
        return r.get(count - 1) ? n - ((long) count * blockSize - size) : n;
    }
}
