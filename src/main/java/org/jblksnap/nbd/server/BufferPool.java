package org.jblksnap.nbd.server;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Direct buffers for request payloads and read data, in power-of-two size classes from 4 KiB
 * to the maximum payload. Direct, so file and socket I/O use them without the JDK's hidden
 * copy into a temporary direct buffer; pooled, because allocating direct memory per request
 * costs more than the I/O itself. Each class keeps at most about 32 MiB of free buffers.
 */
final class BufferPool {
    static final int MIN_SHIFT = 12;
    private static final long KEEP_BYTES_PER_CLASS = 32L << 20;

    private final int maxShift;
    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final AtomicInteger[] kept;

    @SuppressWarnings("unchecked")
    BufferPool(int maxSize) {
        int shift = MIN_SHIFT;
        while ((1L << shift) < maxSize) {
            shift++;
        }
        this.maxShift = shift;
        int classes = maxShift - MIN_SHIFT + 1;
        this.free = new ConcurrentLinkedQueue[classes];
        this.kept = new AtomicInteger[classes];
        for (int i = 0; i < classes; i++) {
            free[i] = new ConcurrentLinkedQueue<>();
            kept[i] = new AtomicInteger();
        }
    }

    /** A buffer with position 0 and limit length (length at most the pool's maximum size). */
    ByteBuffer acquire(int length) {
        int c = classOf(length);
        ByteBuffer b = free[c].poll();
        if (b == null) {
            b = ByteBuffer.allocateDirect(1 << (c + MIN_SHIFT));
        } else {
            kept[c].decrementAndGet();
        }
        return b.clear().limit(length);
    }

    void release(ByteBuffer b) {
        int c = Integer.numberOfTrailingZeros(b.capacity()) - MIN_SHIFT;
        if (kept[c].incrementAndGet() <= Math.max(2, KEEP_BYTES_PER_CLASS >>> (c + MIN_SHIFT))) {
            free[c].offer(b);
        } else {
            kept[c].decrementAndGet();
        }
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
