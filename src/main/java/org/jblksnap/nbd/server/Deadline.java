package org.jblksnap.nbd.server;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * How long a blocking step of a connection may take: {@link #start()} before the step,
 * {@link #clear()} after it. The server's watchdog {@link #passed checks} every deadline
 * periodically and closes a connection whose step ran over, which ends the step with an
 * AsynchronousCloseException (NIO socket reads and writes ignore SO_TIMEOUT).
 *
 * <p>Starting and clearing is on every request's path, so it reads no clock and takes no
 * lock: each is one ordered store of a step counter (odd while a step is under way). The
 * watchdog, which reads the clock anyway, notes when it first saw the current step and
 * closes once that step is still the current one {@code timeout} later. So a step is never
 * cut before its timeout, and one that hangs is cut at most two watchdog ticks after it (the
 * first tick to see it may come one late). The watchdog ticks twice as often as when each
 * step stored its own due time, so that bound did not move.
 *
 * <p>One thread at a time starts and clears a deadline (the caller holds the lock of the
 * stream it guards); one thread, the watchdog, checks it.
 */
final class Deadline {
    private static final VarHandle STEP;

    static {
        try {
            STEP = MethodHandles.lookup().findVarHandle(Deadline.class, "step", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long timeoutNanos;
    /** Steps started plus steps cleared: odd while one is under way. Written by its owner. */
    @SuppressWarnings("unused") // through STEP
    private long step;
    // the watchdog's own: the step it saw last, and when it first saw it
    private long seenStep;
    private long seenAt;

    Deadline(long timeoutNanos) {
        if (timeoutNanos <= 0) {
            throw new IllegalArgumentException("timeout " + timeoutNanos);
        }
        this.timeoutNanos = timeoutNanos;
    }

    /** A step begins; it must be over within the timeout. */
    void start() {
        long s = (long) STEP.getOpaque(this);
        if ((s & 1) == 0) {
            STEP.setRelease(this, s + 1);
        }
    }

    /** The step is over. */
    void clear() {
        long s = (long) STEP.getOpaque(this);
        if ((s & 1) != 0) {
            STEP.setRelease(this, s + 1);
        }
    }

    /**
     * True when the step under way at {@code now} was already under way {@code timeout}
     * before (as seen by earlier calls). Called by the watchdog alone, with {@code now} from
     * {@link System#nanoTime()}, often compared with the timeout.
     */
    boolean passed(long now) {
        long s = (long) STEP.getAcquire(this);
        if ((s & 1) == 0) {
            seenStep = s;
            return false;
        }
        if (s != seenStep) {
            seenStep = s;
            seenAt = now;
            return false;
        }
        return now - seenAt >= timeoutNanos;
    }
}
