package org.jblksnap.cow;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;

/**
 * Chunk-sized direct buffers for copy-on-write, at most chunk_maximum_in_queue in use at once
 * (a writer that finds none waits), and at most free_diff_buffer_pool_size kept when free.
 * Memory stays bounded by the copies in flight, not by the device size.
 */
public final class ChunkBufferPool {
    private final int bufferSize;
    private final int keepFree;
    private final Semaphore inUse;
    private final ConcurrentLinkedDeque<ByteBuffer> free = new ConcurrentLinkedDeque<>();

    public ChunkBufferPool(int bufferSize, int maxInUse, int keepFree) {
        this.bufferSize = bufferSize;
        this.keepFree = keepFree;
        this.inUse = new Semaphore(maxInUse);
    }

    public int bufferSize() {
        return bufferSize;
    }

    public ByteBuffer acquire() {
        inUse.acquireUninterruptibly();
        ByteBuffer b = free.pollFirst();
        return b != null ? b.clear() : ByteBuffer.allocateDirect(bufferSize);
    }

    public void release(ByteBuffer buffer) {
        if (free.size() < keepFree) {
            free.addFirst(buffer);
        }
        inUse.release();
    }
}
