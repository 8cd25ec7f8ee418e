package org.jblksnap.cow;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.function.IntFunction;

/**
 * Chunk-sized direct buffers for copy-on-write, at most chunk_maximum_in_queue in use at once
 * (a writer that finds none waits), and at most free_diff_buffer_pool_size kept when free.
 * Memory stays bounded by the copies in flight, not by the device size. An allocation that
 * fails (out of direct memory) gives its permit back, so failures never shrink the pool.
 */
public final class ChunkBufferPool {
    private final int bufferSize;
    private final int keepFree;
    private final Semaphore inUse;
    private final IntFunction<ByteBuffer> allocator;
    private final ConcurrentLinkedDeque<ByteBuffer> free = new ConcurrentLinkedDeque<>();

    public ChunkBufferPool(int bufferSize, int maxInUse, int keepFree) {
        this(bufferSize, maxInUse, keepFree, ByteBuffer::allocateDirect);
    }

    /** With the allocator of new buffers (tests make it fail). */
    ChunkBufferPool(int bufferSize, int maxInUse, int keepFree, IntFunction<ByteBuffer> allocator) {
        this.bufferSize = bufferSize;
        this.keepFree = keepFree;
        this.inUse = new Semaphore(maxInUse);
        this.allocator = allocator;
    }

    public int bufferSize() {
        return bufferSize;
    }

    /** Buffers that may be taken now without waiting. */
    int available() {
        return inUse.availablePermits();
    }

    public ByteBuffer acquire() {
        inUse.acquireUninterruptibly();
        try {
            ByteBuffer b = free.pollFirst();
            return b != null ? b.clear() : allocator.apply(bufferSize);
        } catch (Throwable t) {
            inUse.release();
            throw t;
        }
    }

    public void release(ByteBuffer buffer) {
        if (free.size() < keepFree) {
            free.addFirst(buffer);
        }
        inUse.release();
    }
}
