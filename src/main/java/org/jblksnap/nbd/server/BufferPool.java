package org.jblksnap.nbd.server;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;

/**
 * Direct buffers for request payloads and read data, in power-of-two size classes from 4 KiB
 * to the maximum payload, within one budget shared by every connection of the server.
 * Direct, so file and socket I/O use them without the JDK's hidden copy into a temporary
 * direct buffer; pooled, because allocating direct memory per request costs more than the
 * I/O itself.
 *
 * <p>Memory: buffers in use (counted by their class size) never pass the budget; taking one
 * waits while it is spent, up to a timeout, then fails with ENOMEM. Free buffers are kept for
 * reuse up to a quarter of the budget, all classes together; so the pool's direct memory stays
 * under 1.25 times the budget.
 */
final class BufferPool {
    static final int MIN_SHIFT = 12;

    private final int maxShift;
    private final long budget;
    /** Budget not in use, in 4 KiB units. */
    private final Semaphore units;
    private final long keepBytes;
    private final AtomicLong kept = new AtomicLong();
    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final IntFunction<ByteBuffer> allocator;

    BufferPool(int maxSize, long budget) {
        this(maxSize, budget, ByteBuffer::allocateDirect);
    }

    /** With the allocator of new buffers (tests make it fail). */
    @SuppressWarnings("unchecked")
    BufferPool(int maxSize, long budget, IntFunction<ByteBuffer> allocator) {
        int shift = MIN_SHIFT;
        while ((1L << shift) < maxSize) {
            shift++;
        }
        if (budget < (1L << shift)) {
            throw new IllegalArgumentException("a budget of " + budget + " bytes cannot hold one buffer of " + maxSize);
        }
        this.maxShift = shift;
        this.budget = budget;
        this.units = new Semaphore((int) Math.min(Integer.MAX_VALUE, budget >>> MIN_SHIFT));
        this.keepBytes = budget / 4;
        this.allocator = allocator;
        int classes = maxShift - MIN_SHIFT + 1;
        this.free = new ConcurrentLinkedQueue[classes];
        for (int i = 0; i < classes; i++) {
            free[i] = new ConcurrentLinkedQueue<>();
        }
    }

    /**
     * A buffer with position 0 and limit length (length at most the pool's maximum size),
     * waiting up to timeoutMillis for the budget.
     *
     * @throws BlksnapException ENOMEM when the budget stays spent for that long
     * @throws InterruptedException when interrupted while waiting
     */
    ByteBuffer acquire(int length, long timeoutMillis) throws InterruptedException {
        int c = classOf(length);
        int cost = 1 << c;
        if (!units.tryAcquire(cost, timeoutMillis, TimeUnit.MILLISECONDS)) {
            throw new BlksnapException(Errno.ENOMEM, "NBD payload memory (" + (budget >> 20) + " MiB for all"
                    + " connections) stayed spent for " + timeoutMillis + " ms");
        }
        ByteBuffer b = free[c].poll();
        if (b != null) {
            kept.addAndGet(-b.capacity());
        } else {
            try {
                b = allocator.apply(1 << (c + MIN_SHIFT));
            } catch (Throwable t) {
                units.release(cost);
                throw t;
            }
        }
        return b.clear().limit(length);
    }

    void release(ByteBuffer b) {
        int capacity = b.capacity();
        int c = Integer.numberOfTrailingZeros(capacity) - MIN_SHIFT;
        if (kept.addAndGet(capacity) <= keepBytes) {
            free[c].offer(b);
        } else {
            kept.addAndGet(-capacity);
        }
        units.release(1 << c);
    }

    /** Budget bytes not in use (tests: nothing leaks). */
    long available() {
        return (long) units.availablePermits() << MIN_SHIFT;
    }

    long budget() {
        return budget;
    }

    private int classOf(int length) {
        if (length <= (1 << MIN_SHIFT)) {
            return 0;
        }
        int shift = 32 - Integer.numberOfLeadingZeros(length - 1);
        if (shift > maxShift) {
            throw new IllegalArgumentException("buffer of " + length + " bytes is above the pool's maximum");
        }
        return shift - MIN_SHIFT;
    }
}
