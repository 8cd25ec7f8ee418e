package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The watchdog's view of a {@link Deadline}, on a clock the test moves: a step is never over
 * its deadline before its timeout has run since the watchdog first saw it, a step that hangs
 * is, and a new step (however many went by between two ticks) starts the count again.
 */
class DeadlineTest {
    private static final long TIMEOUT = 1_000;

    @Test
    void noStepNeverPasses() {
        Deadline d = new Deadline(TIMEOUT);
        for (long now = 0; now < 10 * TIMEOUT; now += 100) {
            assertFalse(d.passed(now));
        }
        d.start();
        d.clear();
        for (long now = 10 * TIMEOUT; now < 20 * TIMEOUT; now += 100) {
            assertFalse(d.passed(now));
        }
    }

    @Test
    void aHungStepPassesOnceItsTimeoutRanSinceItWasFirstSeen() {
        Deadline d = new Deadline(TIMEOUT);
        assertFalse(d.passed(0));
        d.start();
        assertFalse(d.passed(100)); // first seen
        assertFalse(d.passed(600));
        assertFalse(d.passed(1_099));
        assertTrue(d.passed(1_100));
        assertTrue(d.passed(5_000));
    }

    @Test
    void aClearedStepNeverPasses() {
        Deadline d = new Deadline(TIMEOUT);
        d.start();
        assertFalse(d.passed(0));
        d.clear();
        assertFalse(d.passed(TIMEOUT));
        assertFalse(d.passed(10 * TIMEOUT));
    }

    @Test
    void eachNewStepIsTimedFromWhenItWasSeen() {
        Deadline d = new Deadline(TIMEOUT);
        long now = 0;
        // Steps that each end between two ticks: busy, never hung.
        for (int i = 0; i < 100; i++) {
            d.start();
            assertFalse(d.passed(now));
            d.clear();
            d.start();
            now += TIMEOUT / 2;
        }
        // The last one hangs: it passes a timeout after the tick that first saw it.
        assertFalse(d.passed(now));
        assertFalse(d.passed(now + TIMEOUT - 1));
        assertTrue(d.passed(now + TIMEOUT));
        // Another step, however long after: timed from when it is seen.
        d.clear();
        d.start();
        assertFalse(d.passed(now + 5 * TIMEOUT));
        assertFalse(d.passed(now + 6 * TIMEOUT - 1));
        assertTrue(d.passed(now + 6 * TIMEOUT));
    }

    @Test
    void startAndClearAreIdempotent() {
        Deadline d = new Deadline(TIMEOUT);
        d.start();
        assertFalse(d.passed(0));
        d.start(); // the same step still
        assertTrue(d.passed(TIMEOUT));
        d.clear();
        d.clear();
        assertFalse(d.passed(2 * TIMEOUT));
        d.start();
        assertFalse(d.passed(2 * TIMEOUT + 1));
    }

    @Test
    void aTimeoutMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> new Deadline(0));
    }
}
