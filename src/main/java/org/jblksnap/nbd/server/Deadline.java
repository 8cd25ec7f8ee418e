package org.jblksnap.nbd.server;

/**
 * When a blocking step of a connection must be over: set before the step, cleared after it.
 * The server's watchdog closes a connection whose deadline passed, which ends the step with
 * an AsynchronousCloseException (NIO socket reads and writes ignore SO_TIMEOUT).
 */
final class Deadline {
    private static final long NONE = Long.MAX_VALUE;
    private volatile long due = NONE;

    /** The step must be over in nanos from now. */
    void in(long nanos) {
        due = System.nanoTime() + nanos;
    }

    void clear() {
        due = NONE;
    }

    boolean passed(long now) {
        long d = due;
        return d != NONE && now - d > 0;
    }
}
