package org.jblksnap.backup;

import java.util.BitSet;
import java.util.List;

import org.jblksnap.backup.nbd.Extent;
import org.jblksnap.nbd.protocol.Nbd;

/**
 * What a run reads. A full run reads every block but those base:allocation says read as
 * zeroes. An incremental run handles the blocks the dirty bitmap touches, and of each reads
 * only the dirty ranges that are not known zeroes; the rest of such a block comes from the
 * same block of the parent point ({@link BlockRead}).
 */
final class BlockPlan {
    private final long size;
    private final int blockSize;
    private final int count;
    private final BitSet toRead;
    private final BitSet knownZero;
    private final Ranges dirty;
    private final Ranges zero;
    private final long bytesToRead;

    private BlockPlan(long size, int blockSize, BitSet inScope, BitSet zeroBlocks, Ranges dirty, Ranges zero) {
        this.size = size;
        this.blockSize = blockSize;
        this.count = blockCount(size, blockSize);
        this.dirty = dirty;
        this.zero = zero;
        this.toRead = (BitSet) inScope.clone();
        toRead.andNot(zeroBlocks);
        this.knownZero = (BitSet) inScope.clone();
        knownZero.and(zeroBlocks);
        long n = 0;
        for (int i = toRead.nextSetBit(0); i >= 0; i = toRead.nextSetBit(i + 1)) {
            n += block(i).read().bytes();
        }
        this.bytesToRead = n;
    }

    private static int blockCount(long size, int blockSize) {
        return Math.toIntExact((size + blockSize - 1) / blockSize);
    }

    /**
     * @param allocation base:allocation extents over the device, or null when unknown
     * @param dirtyExtents dirty bitmap extents over the device, or null for a full read
     */
    static BlockPlan of(long size, int blockSize, List<Extent> allocation, List<Extent> dirtyExtents) {
        int count = blockCount(size, blockSize);
        Ranges zero = allocation == null ? Ranges.EMPTY : Ranges.of(allocation, Nbd.STATE_ZERO, true);
        Ranges dirty = dirtyExtents == null ? null : Ranges.of(dirtyExtents, Nbd.STATE_DIRTY, true).clip(0, size);
        BitSet scope = new BitSet(count);
        if (dirty == null) {
            scope.set(0, count);
        } else {
            mark(scope, dirty, blockSize);
        }
        BitSet zeroBlocks = new BitSet(count);
        mark(zeroBlocks, Ranges.of(0, size).minus(zero), blockSize);
        zeroBlocks.flip(0, count);
        return new BlockPlan(size, blockSize, scope, zeroBlocks, dirty, zero);
    }

    /** Sets the blocks the ranges touch. */
    private static void mark(BitSet set, Ranges r, int blockSize) {
        for (int i = 0; i < r.count(); i++) {
            set.set(Math.toIntExact(r.start(i) / blockSize), Math.toIntExact((r.end(i) - 1) / blockSize) + 1);
        }
    }

    int count() {
        return count;
    }

    /** Blocks to read from the source (wholly or in part). */
    BitSet toRead() {
        return (BitSet) toRead.clone();
    }

    /** Blocks in scope known to be zero without reading. */
    BitSet knownZero() {
        return (BitSet) knownZero.clone();
    }

    /** The bytes the run reads from the source. */
    long bytesToRead() {
        return bytesToRead;
    }

    /** The bytes the dirty bitmap reported changed; null for a full read. */
    Long reportedBytes() {
        return dirty == null ? null : dirty.bytes();
    }

    /** How block i is made up. */
    BlockRead block(int i) {
        long from = (long) i * blockSize;
        long to = Math.min(from + blockSize, size);
        if (dirty == null) {
            return new BlockRead(from, (int) (to - from), Ranges.of(0, to - from), Ranges.EMPTY, Ranges.EMPTY);
        }
        Ranges changed = dirty.clip(from, to);
        return new BlockRead(from, (int) (to - from), changed.minus(zero).shift(-from), changed.and(zero).shift(-from),
                Ranges.of(from, to).minus(changed).shift(-from));
    }
}
