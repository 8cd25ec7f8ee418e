package org.jblksnap.backup;

import java.util.BitSet;
import java.util.List;

import org.jblksnap.nbd.client.Extent;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.repo.Geometry;

/**
 * What a run reads, block by block (the 4 MiB blocks of a point's index). A full run handles
 * every block and reads all of it but the chunks base:allocation says read as zeroes (a
 * block wholly zero is not read at all). An incremental run handles the blocks the dirty
 * bitmap touches, and of each reads only the dirty ranges that are not known zeroes; the
 * rest of such a block comes from the parent point ({@link BlockRead}).
 */
final class BlockPlan {
    private final Geometry geometry;
    private final BitSet toRead;
    private final BitSet knownZero;
    private final Ranges dirty;
    /** The ranges known to be zeroes: for a full run, only the whole chunks among them. */
    private final Ranges zero;
    private final long bytesToRead;

    private BlockPlan(Geometry geometry, BitSet inScope, BitSet zeroBlocks, Ranges dirty, Ranges zero) {
        this.geometry = geometry;
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

    /**
     * @param allocation base:allocation extents over the device, or null when unknown
     * @param dirtyExtents dirty bitmap extents over the device, or null for a full read
     */
    static BlockPlan of(Geometry geometry, List<Extent> allocation, List<Extent> dirtyExtents) {
        long size = geometry.size();
        int blockSize = geometry.blockSize();
        int count = geometry.blockCount();
        Ranges zero = allocation == null ? Ranges.EMPTY : Ranges.of(allocation, Nbd.STATE_ZERO, true).clip(0, size);
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
        return new BlockPlan(geometry, scope, zeroBlocks, dirty,
                dirty == null ? wholeChunks(zero, geometry.chunkSize(), size) : zero);
    }

    /** The chunks wholly in the ranges (the device's end counts as a chunk boundary). */
    private static Ranges wholeChunks(Ranges r, int chunkSize, long size) {
        Ranges.Builder b = new Ranges.Builder();
        for (int i = 0; i < r.count(); i++) {
            long end = r.end(i) == size ? size : r.end(i) & -chunkSize;
            b.add((r.start(i) + chunkSize - 1) & -chunkSize, end);
        }
        return b.build();
    }

    /** Sets the blocks the ranges touch. */
    private static void mark(BitSet set, Ranges r, int blockSize) {
        for (int i = 0; i < r.count(); i++) {
            set.set(Math.toIntExact(r.start(i) / blockSize), Math.toIntExact((r.end(i) - 1) / blockSize) + 1);
        }
    }

    int count() {
        return geometry.blockCount();
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
        long from = (long) i * geometry.blockSize();
        long to = from + geometry.blockLength(i);
        Ranges changed = dirty == null ? Ranges.of(from, to) : dirty.clip(from, to);
        return new BlockRead(from, (int) (to - from), changed.minus(zero).shift(-from), changed.and(zero).shift(-from),
                Ranges.of(from, to).minus(changed).shift(-from));
    }
}
