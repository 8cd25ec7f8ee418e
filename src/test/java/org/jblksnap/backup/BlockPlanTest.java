package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.List;

import org.jblksnap.nbd.client.Extent;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.repo.Geometry;
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
        BlockPlan p = BlockPlan.of(new Geometry(size, BS, BS), alloc, null);
        assertEquals(5, p.count());
        assertEquals(bits(0, 2), p.toRead());
        assertEquals(bits(1, 3, 4), p.knownZero());
        assertEquals(2L * BS, p.bytesToRead());
        assertNull(p.reportedBytes());
        assertTrue(p.block(2).whole(), "a full run reads a block with data whole");
    }

    @Test
    void fullReadSkipsTheChunksWhollyZero() {
        int cs = 64 << 10;
        long size = 2L * BS + cs + 1000; // the last block: a whole chunk and a short one
        List<Extent> alloc = List.of(
                new Extent(0, cs + 100, 0),
                new Extent(cs + 100, 3L * cs - 100, ZERO),    // chunk 1 in part, chunks 2-3 whole
                new Extent(4L * cs, 2L * BS + cs - 4L * cs, 0),
                new Extent(2L * BS + cs, 1000, ZERO));        // the short last chunk
        BlockPlan p = BlockPlan.of(new Geometry(size, BS, cs), alloc, null);
        assertEquals(bits(0, 1, 2), p.toRead());
        assertEquals(bits(), p.knownZero());
        BlockRead b0 = p.block(0);
        assertEquals(new Ranges.Builder().add(0, 2L * cs).add(4L * cs, BS).build(), b0.read());
        assertEquals(Ranges.of(2L * cs, 4L * cs), b0.zero());
        assertTrue(b0.parent().isEmpty());
        assertTrue(p.block(1).whole());
        assertEquals(Ranges.of(0, cs), p.block(2).read());
        assertEquals(Ranges.of(cs, cs + 1000), p.block(2).zero(), "the device's end is a chunk's end");
        assertEquals(2L * BS - 2L * cs + cs, p.bytesToRead());
    }

    @Test
    void incrementalReadsTheBlocksTheDirtyExtentsTouch() {
        long size = 8L * BS - 512;
        List<Extent> dirty = List.of(
                new Extent(0, 3L * BS - 1, 0),
                new Extent(3L * BS - 1, 2, Nbd.STATE_DIRTY),    // straddles blocks 2 and 3
                new Extent(3L * BS + 1, 4L * BS - 1, 0),
                new Extent(7L * BS, BS - 512, Nbd.STATE_DIRTY));
        BlockPlan p = BlockPlan.of(new Geometry(size, BS, BS), List.of(new Extent(0, size, 0)), dirty);
        assertEquals(bits(2, 3, 7), p.toRead());
        assertEquals(new BitSet(), p.knownZero());
        assertEquals(2 + BS - 512, p.bytesToRead(), "only the dirty bytes are read");
        assertEquals(2 + BS - 512, p.reportedBytes());
        BlockRead b2 = p.block(2);
        assertEquals(2L * BS, b2.offset());
        assertEquals(Ranges.of(BS - 1, BS), b2.read());
        assertEquals(Ranges.of(0, BS - 1), b2.parent());
        assertTrue(b2.zero().isEmpty());
        assertFalse(b2.whole());
        assertEquals(Ranges.of(0, 1), p.block(3).read());
        assertEquals(Ranges.of(1, BS), p.block(3).parent());
        BlockRead last = p.block(7);
        assertEquals(BS - 512, last.length());
        assertTrue(last.whole(), "a block dirty from end to end is read whole: " + last);

        BlockPlan noAlloc = BlockPlan.of(new Geometry(size, BS, BS), null,
                List.of(new Extent(0, 5L * BS, 0), new Extent(5L * BS, 3L * BS - 512, Nbd.STATE_DIRTY)));
        assertEquals(bits(5, 6, 7), noAlloc.toRead());

        BlockPlan dirtyZero = BlockPlan.of(new Geometry(size, BS, BS),
                List.of(new Extent(0, 7L * BS, 0), new Extent(7L * BS, BS - 512, ZERO)), dirty);
        assertEquals(bits(2, 3), dirtyZero.toRead());
        assertEquals(bits(7), dirtyZero.knownZero());
    }

    @Test
    void dirtyRangesKnownToBeZeroAreNotReadAndTheRestComesFromTheParent() {
        long size = 2L * BS;
        List<Extent> alloc = List.of(new Extent(0, BS / 4, 0), new Extent(BS / 4, BS / 4, ZERO),
                new Extent(BS / 2, 3L * BS / 2, 0));
        List<Extent> dirty = List.of(new Extent(0, BS / 8, 0), new Extent(BS / 8, BS / 4, Nbd.STATE_DIRTY),
                new Extent(3L * BS / 8, size - 3L * BS / 8, 0));
        BlockPlan p = BlockPlan.of(new Geometry(size, BS, BS), alloc, dirty);
        assertEquals(bits(0), p.toRead());
        BlockRead b = p.block(0);
        assertEquals(Ranges.of(BS / 8, BS / 4), b.read());
        assertEquals(Ranges.of(BS / 4, 3L * BS / 8), b.zero());
        assertEquals(new Ranges.Builder().add(0, BS / 8).add(3L * BS / 8, BS).build(), b.parent());
        assertEquals(BS / 8, p.bytesToRead());
        assertEquals(BS / 4, p.reportedBytes());
    }
}
