package org.jblksnap.device;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Lets I/O pass until it is frozen; freezing waits for the I/O in flight to drain, and new
 * I/O waits until thaw (what blksnap gets from freezing the block device's queue).
 *
 * <p>One atomic word: the top bit is "frozen", the rest counts I/O in flight. Entering is a
 * single CAS while open; waiting happens only around a freeze, on one lock and condition.
 * A gate can also be closed for good: then entering fails.
 *
 * <p>A device's writes pass its tracker's gate and an image's reads and writes pass the
 * image's; see the lock order in the {@code snapshot} package doc.
 */
public final class WriteGate {
    private static final long FROZEN = 1L << 62;
    private static final long CLOSED = 1L << 61;
    private static final long COUNT = CLOSED - 1;

    private final AtomicLong state = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();

    /** Enters, waiting while frozen. Returns false when the gate is closed for good. */
    public boolean enter() {
        while (true) {
            long s = state.get();
            if ((s & CLOSED) != 0) {
                return false;
            }
            if ((s & FROZEN) == 0) {
                if (state.compareAndSet(s, s + 1)) {
                    return true;
                }
                continue;
            }
            awaitWhile(FROZEN);
        }
    }

    public void exit() {
        long s = state.decrementAndGet();
        if ((s & FROZEN) != 0 && (s & COUNT) == 0) {
            signalAll();
        }
    }

    /** Stops new entries and waits until none is in flight. One freezer at a time. */
    public void freeze() {
        long s;
        do {
            s = state.get();
            if ((s & FROZEN) != 0) {
                throw new IllegalStateException("gate is already frozen");
            }
        } while (!state.compareAndSet(s, s | FROZEN));
        awaitWhile(COUNT);
    }

    /** True while frozen with nothing in flight: what state switches under a freeze rely on. */
    public boolean isFrozenAndDrained() {
        long s = state.get();
        return (s & FROZEN) != 0 && (s & COUNT) == 0;
    }

    public void thaw() {
        state.getAndUpdate(s -> s & ~FROZEN);
        signalAll();
    }

    /** Freezes and closes for good: after this every enter() returns false. */
    public void close() {
        freeze();
        state.getAndUpdate(s -> (s | CLOSED) & ~FROZEN);
        signalAll();
    }

    /** Waits while any of the bits in mask is set. */
    private void awaitWhile(long mask) {
        lock.lock();
        try {
            while ((state.get() & mask) != 0) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    private void signalAll() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
