package org.jblksnap.cbt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.UUID;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.TestDevices;
import org.junit.jupiter.api.Test;

class CbtMapTest {
    private static final int BLOCK = 1 << 16;
    /** 17 tracking blocks of 64 KiB; the last one is only 4 KiB long. */
    private static final long CAPACITY = 16L * BLOCK + 4096;
    private static final Params PARAMS = TestDevices.params(Map.of("tracking_block_minimum_shift", "16"));

    private final CbtMap map = new CbtMap(CAPACITY, PARAMS);

    @Test
    void aNewMapIsGenerationOneWithNothingChanged() {
        CbtInfo info = map.info();
        assertEquals(CAPACITY, info.deviceCapacity());
        assertEquals(BLOCK, info.blockSize());
        assertEquals(17, info.blockCount());
        assertNotNull(info.generationId());
        assertEquals(0, info.changesNumber());
        assertEquals(1, map.active());
        assertEquals(0, map.previous());
        CbtState s = map.state();
        assertArrayEquals(new byte[17], s.readable());
        assertArrayEquals(new byte[17], s.writable());
        assertNotEquals(info.generationId(), new CbtMap(CAPACITY, PARAMS).generation(), "each map gets its own UUID");
    }

    @Test
    void aWriteSetsItsBlocksInTheWritableMapToActive() {
        map.markWrite(BLOCK - 512, 1024); // last sector of block 0 and first of block 1
        map.markWrite(5L * BLOCK, BLOCK); // exactly block 5
        map.markWrite(CAPACITY - 512, 512); // the short last block
        map.markWrite(9L * BLOCK, 0); // nothing
        byte[] w = map.state().writable();
        byte[] expected = new byte[17];
        expected[0] = expected[1] = expected[5] = expected[16] = 1;
        assertArrayEquals(expected, w);
        assertArrayEquals(new byte[17], map.state().readable(), "writes never touch the readable map");
    }

    @Test
    void dirtySinceABackupCountsEveryBlockWrittenAfterItsTakeAndAllInAnotherGeneration() {
        map.markWrite(0, 512);
        map.switchForTake(); // backup 1 reads what was written before
        CbtInfo backup = map.info();
        assertEquals(0, map.dirtyBlocksSince(backup.generationId(), backup.changesNumber()));
        map.markWrite(2L * BLOCK, 512);
        map.switchForTake(); // a snapshot by hand: dirtyBlocks starts again, dirty since the backup does not
        map.markWrite(3L * BLOCK, 512);
        map.markWrite(2L * BLOCK, 512);
        assertEquals(2, map.dirtyBlocks());
        assertEquals(2, map.dirtyBlocksSince(backup.generationId(), backup.changesNumber()), "blocks 2 and 3");
        map.markWrite(4L * BLOCK, 512);
        assertEquals(3, map.dirtyBlocksSince(backup.generationId(), backup.changesNumber()));
        map.newGeneration();
        assertEquals(17, map.dirtyBlocksSince(backup.generationId(), backup.changesNumber()),
                "another generation: the next backup reads everything");
    }

    @Test
    void takeCopiesWritableToReadableAndAdvancesTheNumbers() {
        map.markWrite(0, 512);
        map.switchForTake();
        assertEquals(1, map.previous());
        assertEquals(2, map.active());
        assertEquals(1, map.info().changesNumber());
        assertEquals(1, map.readReadable(0, 1)[0]);
        assertTrue(map.changedSince(0, 0));
        assertFalse(map.changedSince(0, 1));
        assertFalse(map.changedSince(3, 0));

        map.markWrite(3L * BLOCK, 512);
        assertEquals(0, map.readReadable(3, 1)[0], "readable only changes at take");
        map.switchForTake();
        assertEquals(2, map.previous());
        assertEquals(3, map.active());
        assertArrayEquals(new byte[] {1, 0, 0, 2}, map.readReadable(0, 4));
        assertArrayEquals(map.state().writable(), map.state().readable());
        // Since backup 1 only block 3 changed; since backup 0 both.
        assertFalse(map.changedSince(0, 1));
        assertTrue(map.changedSince(3, 1));
        assertTrue(map.changedSince(0, 0));
        assertFalse(map.changedSince(3, 2));
    }

    @Test
    void markDirtySetsReadableToPreviousAndWritableToActive() {
        map.switchForTake(); // previous 1, active 2
        map.markDirty(4L * BLOCK + 512, 2L * BLOCK); // blocks 4, 5 and 6
        CbtState s = map.state();
        for (int b = 0; b < 17; b++) {
            boolean dirty = b >= 4 && b <= 6;
            assertEquals(dirty ? 1 : 0, s.readable()[b], "readable " + b);
            assertEquals(dirty ? 2 : 0, s.writable()[b], "writable " + b);
        }
        assertTrue(map.changedSince(5, 0));
        map.switchForTake(); // previous 2: the dirty blocks count as changed since backup 1
        assertTrue(map.changedSince(5, 1));
        assertFalse(map.changedSince(7, 0));
    }

    @Test
    void badMarkDirtyRangesAreRefusedAndChangeNothing() {
        map.switchForTake();
        CbtState before = map.state();
        assertThrows(InvalidArgumentException.class, () -> map.markDirty(100, 512));
        assertThrows(InvalidArgumentException.class, () -> map.markDirty(0, 100));
        assertThrows(InvalidArgumentException.class, () -> map.markDirty(CAPACITY - 512, 1024));
        assertThrows(InvalidArgumentException.class, () -> map.markDirty(-512, 512));
        assertArrayEquals(before.readable(), map.state().readable());
        assertArrayEquals(before.writable(), map.state().writable());
        assertThrows(InvalidArgumentException.class, () -> map.readReadable(16, 2));
        assertThrows(InvalidArgumentException.class, () -> map.readReadable(-1, 1));
    }

    @Test
    void numbersAboveOneTwentySevenCompareUnsigned() {
        for (int i = 0; i < 200; i++) {
            map.markWrite(2L * BLOCK, 512);
            map.switchForTake();
        }
        assertEquals(200, map.previous());
        assertEquals(200, Byte.toUnsignedInt(map.readReadable(2, 1)[0]));
        assertTrue(map.changedSince(2, 199));
        assertFalse(map.changedSince(2, 200));
    }

    @Test
    void reachingTwoFiftySixStartsANewGeneration() {
        UUID first = map.generation();
        for (int i = 0; i < 254; i++) {
            map.markWrite(0, 512);
            map.switchForTake();
        }
        assertEquals(255, map.active());
        assertEquals(254, map.previous());
        assertEquals(first, map.generation());
        assertEquals(254, Byte.toUnsignedInt(map.readReadable(0, 1)[0]));

        map.markWrite(BLOCK, 512);
        map.switchForTake();
        assertNotEquals(first, map.generation());
        assertEquals(1, map.active());
        assertEquals(0, map.previous());
        assertEquals(0, map.info().changesNumber());
        assertEquals(map.generation(), map.info().generationId());
        assertArrayEquals(new byte[17], map.state().readable(), "a new generation starts with zeroed maps");
        assertArrayEquals(new byte[17], map.state().writable());

        map.markWrite(BLOCK, 512);
        map.switchForTake();
        assertEquals(1, map.previous());
        assertEquals(2, map.active());
        assertTrue(map.changedSince(1, 0));
        assertFalse(map.changedSince(0, 0));
    }

    @Test
    void blocksGrowUntilTheirCountFitsTheMaximum() {
        Params p = TestDevices.params(Map.of("tracking_block_minimum_shift", "16",
                "tracking_block_maximum_count", "4", "tracking_block_maximum_shift", "26"));
        CbtInfo info = new CbtMap(1 << 20, p).info();
        assertEquals(1 << 18, info.blockSize());
        assertEquals(4, info.blockCount());
        // One byte more needs a fifth block of 256 KiB, so the block doubles again.
        CbtInfo bigger = new CbtMap((1 << 20) + 512, p).info();
        assertEquals(1 << 19, bigger.blockSize());
        assertEquals(3, bigger.blockCount());
    }

    @Test
    void restoreKeepsEverything() {
        map.markWrite(0, 512);
        map.switchForTake();
        map.markWrite(BLOCK, 512);
        CbtState s = map.state();
        CbtMap back = CbtMap.restore(s);
        assertEquals(map.info(), back.info());
        assertEquals(2, back.active());
        assertArrayEquals(s.writable(), back.state().writable());
        assertArrayEquals(s.readable(), back.state().readable());
    }
}
