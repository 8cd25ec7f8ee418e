package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

class RangeLocksTest {
    private static final long UNIT = 1L << RangeLocks.UNIT_SHIFT;

    @Test
    void exclusiveRangesExcludeOverlapsOnly() throws Exception {
        RangeLocks locks = new RangeLocks();
        locks.lock(0, 512, true);
        assertFalse(tryElsewhere(locks, 100, 200, false), "overlapping shared waits");
        assertTrue(tryElsewhere(locks, 5 * UNIT, 5 * UNIT + 512, true), "another unit is free");
        locks.unlock(0, 512, true);
        assertTrue(tryElsewhere(locks, 100, 200, true));
    }

    @Test
    void sharedRangesOverlap() throws Exception {
        RangeLocks locks = new RangeLocks();
        locks.lock(0, 3 * UNIT, false);
        assertTrue(tryElsewhere(locks, UNIT, 2 * UNIT, false));
        assertFalse(tryElsewhere(locks, UNIT, UNIT + 1, true));
        locks.unlock(0, 3 * UNIT, false);
    }

    /** Ranges that wrap around the stripe table, or cover all of it, still lock and unlock cleanly. */
    @Test
    void wrappingAndHugeRanges() throws Exception {
        RangeLocks locks = new RangeLocks();
        long wrapStart = (RangeLocks.STRIPES - 2) * UNIT;
        locks.lock(wrapStart, wrapStart + 4 * UNIT, true);
        assertFalse(tryElsewhere(locks, 0, 1, false), "stripe 0 is part of the wrapped range");
        assertTrue(tryElsewhere(locks, 5 * UNIT, 6 * UNIT, true));
        locks.unlock(wrapStart, wrapStart + 4 * UNIT, true);
        long huge = 1000 * UNIT;
        locks.lock(7 * UNIT, 7 * UNIT + huge, true);
        assertFalse(tryElsewhere(locks, 3 * UNIT, 3 * UNIT + 1, false));
        locks.unlock(7 * UNIT, 7 * UNIT + huge, true);
        assertTrue(tryElsewhere(locks, 0, huge, true), "everything was released");
    }

    /** Locks [from,to) on another thread within 200 ms; true when it got them (then releases). */
    private static boolean tryElsewhere(RangeLocks locks, long from, long to, boolean exclusive) throws Exception {
        CountDownLatch got = new CountDownLatch(1);
        AtomicBoolean release = new AtomicBoolean();
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            locks.lock(from, to, exclusive);
            got.countDown();
            while (!release.get()) {
                Thread.onSpinWait();
            }
            locks.unlock(from, to, exclusive);
        });
        boolean ok = got.await(200, TimeUnit.MILLISECONDS);
        release.set(true);
        if (ok) {
            t.join();
        }
        return ok;
    }
}
