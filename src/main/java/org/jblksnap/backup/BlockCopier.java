package org.jblksnap.backup;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.backup.nbd.NbdClient;
import org.jblksnap.backup.repo.BlockStore;
import org.jblksnap.backup.repo.Hash;
import org.jblksnap.backup.repo.PointIndex;
import org.jblksnap.backup.repo.PointMeta;

/**
 * Reads blocks (or their changed ranges) from an NBD export with several blocks in flight,
 * and on worker threads completes the blocks read in part from the parent point, hashes
 * them, stores the new ones and fills the index. The first failure stops new reads; the
 * ones in flight finish before it is thrown.
 */
final class BlockCopier {
    private final NbdClient client;
    private final BlockStore store;
    private final PointMeta geometry;
    private final PointIndex index;
    private final PointIndex previous;
    private final ParentFill parentFill;
    private final Progress progress;
    private final Executor workers;
    private final int inFlight;
    private final byte[] zeroes;
    private volatile Throwable failure;

    final AtomicLong bytesRead = new AtomicLong();
    final AtomicLong changedBlocks = new AtomicLong();
    final AtomicLong newBlocks = new AtomicLong();
    final AtomicLong storedBytes = new AtomicLong();
    final AtomicLong zeroBlocks = new AtomicLong();

    /**
     * @param geometry gives the size and block size (its other fields are not used)
     * @param previous the device's previous point, to count changed blocks and to complete
     *        blocks read in part; null if none
     */
    BlockCopier(NbdClient client, BlockStore store, PointMeta geometry, PointIndex index, PointIndex previous,
            Progress progress, Executor workers, int inFlight) {
        this.client = client;
        this.store = store;
        this.geometry = geometry;
        this.index = index;
        this.previous = previous;
        this.parentFill = new ParentFill(store, previous);
        this.progress = progress;
        this.workers = workers;
        this.inFlight = inFlight;
        this.zeroes = new byte[geometry.blockSize()];
    }

    /** Records a block known to be zero without reading it. */
    void zero(int block) {
        record(block, Hash.ZERO);
    }

    /** Reads, completes and stores the plan's blocks to read. */
    void copy(BlockPlan plan) throws IOException {
        BitSet blocks = plan.toRead();
        BlockingQueue<byte[]> buffers = new ArrayBlockingQueue<>(inFlight);
        Semaphore slots = new Semaphore(inFlight);
        try {
            for (int i = blocks.nextSetBit(0); i >= 0 && failure == null; i = blocks.nextSetBit(i + 1)) {
                slots.acquire();
                byte[] buf = buffers.poll();
                byte[] b = buf != null ? buf : new byte[geometry.blockSize()];
                int block = i;
                BlockRead r = plan.block(i);
                Ranges spans = r.read().align(client.export().blockSizes().minimum(), r.length());
                read(r.offset(), spans, b).whenCompleteAsync((v, err) -> {
                    try {
                        if (err != null) {
                            fail(err);
                        } else if (failure == null) {
                            bytesRead.addAndGet(spans.bytes());
                            parentFill.complete(block, r, b);
                            store(block, b, r.length());
                            progress.advance(r.read().bytes());
                        }
                    } catch (IOException | RuntimeException e) {
                        fail(e);
                    } finally {
                        buffers.add(b);
                        slots.release();
                    }
                }, workers);
            }
            slots.acquire(inFlight);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("backup interrupted");
        }
        Throwable f = failure;
        if (f instanceof IOException io) {
            throw io;
        }
        if (f != null) {
            throw new IOException(f.getMessage(), f);
        }
    }

    /** Reads the ranges (relative to offset) into the same places of buf. */
    private CompletableFuture<Void> read(long offset, Ranges spans, byte[] buf) {
        CompletableFuture<?>[] parts = new CompletableFuture<?>[spans.count()];
        for (int k = 0; k < parts.length; k++) {
            int from = (int) spans.start(k);
            parts[k] = client.read(offset + from, ByteBuffer.wrap(buf, from, (int) spans.end(k) - from));
        }
        return CompletableFuture.allOf(parts);
    }

    private void store(int block, byte[] data, int len) throws IOException {
        if (Arrays.mismatch(data, 0, len, zeroes, 0, len) < 0) {
            record(block, Hash.ZERO);
        } else {
            Hash h = Hash.of(data, 0, len);
            long stored = store.put(h, data, len);
            if (stored > 0) {
                newBlocks.incrementAndGet();
                storedBytes.addAndGet(stored);
            }
            record(block, h);
        }
    }

    private void record(int block, Hash h) {
        index.set(block, h);
        if (h.isZero()) {
            zeroBlocks.incrementAndGet();
        }
        if (previous == null ? !h.isZero() : !previous.get(block).equals(h)) {
            changedBlocks.incrementAndGet();
        }
    }

    private void fail(Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        synchronized (this) {
            if (failure == null) {
                failure = cause;
            }
        }
    }
}
