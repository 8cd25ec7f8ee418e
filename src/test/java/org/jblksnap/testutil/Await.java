package org.jblksnap.testutil;

import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * Waits in a test for something another thread or process makes true (a socket answers, a
 * line is logged, a loop device is released), and fails the test with what it waited for when
 * that does not happen in time. Use it only where no signal exists to wait on; a latch or a
 * future is better when the code under test can give one.
 */
public final class Await {
    /** The first recheck comes soon, later ones at most this far apart. */
    private static final long MAX_PAUSE_MILLIS = 50;

    private Await() {
    }

    /** Something to wait for; it may throw (an assertion included) to stop waiting at once. */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    /**
     * Returns as soon as the condition holds; fails the test with the description after the
     * timeout. The description is built only then, so it may read a log or the state.
     */
    public static void until(Duration timeout, Condition condition, Callable<String> whatWeWaitedFor) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 1;
        while (!condition.holds()) {
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError(whatWeWaitedFor.call() + " (waited " + timeout.toMillis() + " ms)");
            }
            Thread.sleep(pause);
            pause = Math.min(MAX_PAUSE_MILLIS, pause * 2);
        }
    }
}
