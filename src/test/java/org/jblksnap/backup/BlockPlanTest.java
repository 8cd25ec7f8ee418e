package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.BitSet;
import java.util.List;

import org.jblksnap.backup.nbd.Extent;
import org.jblksnap.nbd.protocol.Nbd;
import org.junit.jupiter.api.Test;

class BlockPlanTest {
    private static final int BS = 1 << 20;
    private static final int ZERO = Nbd.STATE_HOLE | Nbd.STATE_ZERO;

    private static BitSet bits(int... i) {
        BitSet b = new BitSet();
        for (int x : i) {
            b.set(x);
        }
        return b;
    }

    @Test
    void fullReadSkipsOnlyBlocksWhollyZeroEvenAcrossFragmentedExtents() {
        long size = 4L * BS + 4096; // a short fifth block
        List<Extent> alloc = List.of(
                new Extent(0, BS / 2, 0),
                new Extent(BS / 2, BS / 2 + BS / 2, ZERO),     // rest of block 0, half of block 1
                new Extent(BS + BS / 2, BS / 2, Nbd.STATE_ZERO), // other half of block 1: zero but allocated
                new Extent(2L * BS, 512, 0),                   // a sector of data in block 2
                new Extent(2L * BS + 512, 2L * BS - 512 + 4096, ZERO));
        BlockPlan p = BlockPlan.of(size, BS, alloc, null);
        assertEquals(5, p.count());
        assertEquals(bits(0, 2), p.toRead());
        assertEquals(bits(1, 3, 4), p.knownZero());
        assertEquals(2L * BS, p.bytesToRead(size));
    }

    @Test
    void incrementalReadsTheBlocksTheDirtyExtentsTouch() {
        long size = 8L * BS - 512;
        List<Extent> dirty = List.of(
                new Extent(0, 3L * BS - 1, 0),
                new Extent(3L * BS - 1, 2, Nbd.STATE_DIRTY),    // straddles blocks 2 and 3
                new Extent(3L * BS + 1, 4L * BS - 1, 0),
                new Extent(7L * BS, BS - 512, Nbd.STATE_DIRTY));
        BlockPlan p = BlockPlan.of(size, BS, List.of(new Extent(0, size, 0)), dirty);
        assertEquals(bits(2, 3, 7), p.toRead());
        assertEquals(new BitSet(), p.knownZero());
        assertEquals(3L * BS - 512, p.bytesToRead(size));

        BlockPlan noAlloc = BlockPlan.of(size, BS, null,
                List.of(new Extent(0, 5L * BS, 0), new Extent(5L * BS, 3L * BS - 512, Nbd.STATE_DIRTY)));
        assertEquals(bits(5, 6, 7), noAlloc.toRead());

        BlockPlan dirtyZero = BlockPlan.of(size, BS, List.of(new Extent(0, 7L * BS, 0), new Extent(7L * BS, BS - 512, ZERO)),
                dirty);
        assertEquals(bits(2, 3), dirtyZero.toRead());
        assertEquals(bits(7), dirtyZero.knownZero());
    }
}
