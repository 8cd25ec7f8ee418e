package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;

import org.jblksnap.nbd.client.Extent;
import org.jblksnap.nbd.protocol.Nbd;
import org.junit.jupiter.api.Test;

class RangesTest {
    private static Ranges r(long... bounds) {
        Ranges.Builder b = new Ranges.Builder();
        for (int i = 0; i < bounds.length; i += 2) {
            b.add(bounds[i], bounds[i + 1]);
        }
        return b.build();
    }

    @Test
    void adjacentAndOverlappingRangesMergeAndEmptyOnesVanish() {
        assertEquals(r(0, 30), r(0, 10, 10, 20, 15, 30));
        assertEquals(Ranges.EMPTY, r(5, 5));
        assertEquals("[0-10, 20-30]", r(0, 10, 20, 30).toString());
        assertEquals(20, r(0, 10, 20, 30).bytes());
        assertThrows(IllegalArgumentException.class, () -> r(20, 30, 0, 10));
    }

    @Test
    void fromExtentsByFlag() {
        List<Extent> e = List.of(new Extent(0, 10, Nbd.STATE_DIRTY), new Extent(10, 5, Nbd.STATE_DIRTY),
                new Extent(15, 5, 0), new Extent(20, 10, Nbd.STATE_DIRTY));
        assertEquals(r(0, 15, 20, 30), Ranges.of(e, Nbd.STATE_DIRTY, true));
        assertEquals(r(15, 20), Ranges.of(e, Nbd.STATE_DIRTY, false));
    }

    @Test
    void clipAndOperations() {
        Ranges a = r(0, 10, 20, 30, 40, 50);
        assertEquals(r(5, 10, 20, 25), a.clip(5, 25));
        assertEquals(Ranges.EMPTY, a.clip(10, 20));
        assertTrue(a.covers(21, 29));
        assertFalse(a.covers(5, 21));
        Ranges b = r(5, 22, 45, 60);
        assertEquals(r(5, 10, 20, 22, 45, 50), a.and(b));
        assertEquals(r(0, 5, 22, 30, 40, 45), a.minus(b));
        assertEquals(r(10, 20, 30, 40), r(0, 50).minus(a));
        assertEquals(r(-5, 5, 15, 25), r(0, 10, 20, 30).shift(-5));
        assertEquals(r(0, 4096, 8192, 10000), r(100, 200, 9000, 9500).align(4096, 10000));
        assertEquals(r(0, 10000), r(100, 200, 4000, 4100, 9000, 9500).align(4096, 10000));
        assertEquals(a, a.align(1, 50));
    }

    @Test
    void operationsAgreeWithASetOfOffsets() {
        Random rnd = new Random(3);
        for (int round = 0; round < 200; round++) {
            boolean[] x = randomSet(rnd);
            boolean[] y = randomSet(rnd);
            Ranges a = fromBits(x);
            Ranges b = fromBits(y);
            boolean[] and = new boolean[x.length];
            boolean[] minus = new boolean[x.length];
            for (int i = 0; i < x.length; i++) {
                and[i] = x[i] && y[i];
                minus[i] = x[i] && !y[i];
            }
            assertEquals(fromBits(and), a.and(b));
            assertEquals(fromBits(minus), a.minus(b));
            int from = rnd.nextInt(x.length);
            int to = from + rnd.nextInt(x.length - from + 1);
            boolean[] clip = new boolean[x.length];
            for (int i = from; i < to; i++) {
                clip[i] = x[i];
            }
            assertEquals(fromBits(clip), a.clip(from, to));
        }
    }

    private static boolean[] randomSet(Random rnd) {
        boolean[] s = new boolean[64];
        for (int i = 0; i < s.length; i++) {
            s[i] = rnd.nextInt(3) == 0;
        }
        return s;
    }

    private static Ranges fromBits(boolean[] s) {
        Ranges.Builder b = new Ranges.Builder();
        for (int i = 0; i < s.length; i++) {
            if (s[i]) {
                b.add(i, i + 1);
            }
        }
        return b.build();
    }
}
