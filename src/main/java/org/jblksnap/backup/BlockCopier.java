package org.jblksnap.backup;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.backup.nbd.NbdClient;
import org.jblksnap.backup.repo.BlockHash;
import org.jblksnap.backup.repo.BlockStore;
import org.jblksnap.backup.repo.PointIndex;
import org.jblksnap.backup.repo.PointMeta;

/**
 * Reads blocks from an NBD export with several reads in flight, and on worker threads hashes
 * them, stores the new ones and fills the index. The first failure stops new reads; the
 * ones in flight finish before it is thrown.
 */
final class BlockCopier {
    private final NbdClient client;
    private final BlockStore store;
    private final PointMeta geometry;
    private final PointIndex index;
    private final PointIndex previous;
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
     * @param previous the device's previous point, to count changed blocks; null if none
     */
    BlockCopier(NbdClient client, BlockStore store, PointMeta geometry, PointIndex index, PointIndex previous,
            Progress progress, Executor workers, int inFlight) {
        this.client = client;
        this.store = store;
        this.geometry = geometry;
        this.index = index;
        this.previous = previous;
        this.progress = progress;
        this.workers = workers;
        this.inFlight = inFlight;
        this.zeroes = new byte[geometry.blockSize()];
    }

    /** Records a block known to be zero without reading it. */
    void zero(int block) {
        record(block, BlockHash.ZERO);
    }

    void copy(BitSet blocks) throws IOException {
        BlockingQueue<byte[]> buffers = new ArrayBlockingQueue<>(inFlight);
        Semaphore slots = new Semaphore(inFlight);
        try {
            for (int i = blocks.nextSetBit(0); i >= 0 && failure == null; i = blocks.nextSetBit(i + 1)) {
                slots.acquire();
                byte[] buf = buffers.poll();
                byte[] b = buf != null ? buf : new byte[geometry.blockSize()];
                int block = i;
                int len = geometry.blockLength(i);
                client.read((long) i * geometry.blockSize(), ByteBuffer.wrap(b, 0, len)).whenCompleteAsync((v, err) -> {
                    try {
                        if (err != null) {
                            fail(err);
                        } else if (failure == null) {
                            store(block, b, len);
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

    private void store(int block, byte[] data, int len) throws IOException {
        bytesRead.addAndGet(len);
        if (Arrays.mismatch(data, 0, len, zeroes, 0, len) < 0) {
            record(block, BlockHash.ZERO);
        } else {
            BlockHash h = BlockHash.of(data, 0, len);
            long stored = store.put(h, data, len);
            if (stored > 0) {
                newBlocks.incrementAndGet();
                storedBytes.addAndGet(stored);
            }
            record(block, h);
        }
        progress.advance(len);
    }

    private void record(int block, BlockHash h) {
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
