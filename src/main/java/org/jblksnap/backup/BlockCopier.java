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

import org.jblksnap.repo.EntryType;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.Geometry;
import org.jblksnap.repo.PackStore;
import org.jblksnap.repo.PointStats;

/**
 * Reads blocks (or their changed ranges) from an export with several blocks in flight,
 * and on worker threads makes each block's manifest: a chunk read whole is hashed as it is,
 * one read in part is completed from the parent point first, one not read at all keeps the
 * parent's hash; new chunks are stored, then the manifest, and its hash goes into the index.
 * The first failure stops new reads; the ones in flight finish before it is thrown.
 */
final class BlockCopier {
    /** What a copy did, for its point's {@link PointStats}. */
    record Counts(long bytesRead, long changedChunks, long newChunks, long storedBytes, long zeroChunks) {
        PointStats stats(double seconds, Long dirtyBytes) {
            return new PointStats(bytesRead, changedChunks, newChunks, storedBytes, zeroChunks, seconds, dirtyBytes);
        }
    }

    private final BlockSource source;
    private final PackStore store;
    private final Geometry geometry;
    private final HashList index;
    private final ParentFill parent;
    private final Progress progress;
    private final Executor workers;
    private final int inFlight;
    private final byte[] zeroes;
    private volatile Throwable failure;

    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong changedChunks = new AtomicLong();
    private final AtomicLong newChunks = new AtomicLong();
    private final AtomicLong storedBytes = new AtomicLong();
    private final AtomicLong zeroChunks = new AtomicLong();

    /**
     * @param parent the device's previous point, to count changed chunks and to complete
     *        blocks read in part
     */
    BlockCopier(BlockSource source, PackStore store, Geometry geometry, HashList index, ParentFill parent,
            Progress progress, Executor workers, int inFlight) {
        this.source = source;
        this.store = store;
        this.geometry = geometry;
        this.index = index;
        this.parent = parent;
        this.progress = progress;
        this.workers = workers;
        this.inFlight = inFlight;
        this.zeroes = new byte[geometry.chunkSize()];
    }

    /**
     * Records the plan's blocks known to be zero, then reads, completes and stores its blocks
     * to read, as a progress phase of that name; returns what it did.
     */
    Counts copy(BlockPlan plan, String phase) throws IOException {
        BitSet zero = plan.knownZero();
        for (int i = zero.nextSetBit(0); i >= 0; i = zero.nextSetBit(i + 1)) {
            recordZeroBlock(i);
        }
        progress.start(phase, plan.bytesToRead());
        readBlocks(plan);
        progress.finish();
        return new Counts(bytesRead.get(), changedChunks.get(), newChunks.get(), storedBytes.get(), zeroChunks.get());
    }

    /** Records a block known to be zero without reading it. */
    private void recordZeroBlock(int block) throws IOException {
        index.set(block, Hash.ZERO);
        HashList before = parent.manifest(block);
        int chunks = geometry.chunkCount(block);
        zeroChunks.addAndGet(chunks);
        for (int c = 0; c < chunks && before != null; c++) {
            if (!before.get(c).isZero()) {
                changedChunks.incrementAndGet();
            }
        }
    }

    /** Reads, completes and stores the plan's blocks to read. */
    private void readBlocks(BlockPlan plan) throws IOException {
        BitSet blocks = plan.toRead();
        BlockingQueue<byte[]> buffers = new ArrayBlockingQueue<>(inFlight);
        Semaphore slots = new Semaphore(inFlight);
        try {
            for (int i = blocks.nextSetBit(0); i >= 0 && failure == null; i = blocks.nextSetBit(i + 1)) {
                slots.acquire();
                parent.prefetch(i);
                byte[] buf = buffers.poll();
                byte[] b = buf != null ? buf : new byte[geometry.blockSize()];
                int block = i;
                BlockRead r = plan.block(i);
                Ranges spans = r.read().align(source.minimumBlockSize(), r.length());
                read(r.offset(), spans, b).whenCompleteAsync((v, err) -> {
                    try {
                        if (err != null) {
                            fail(err);
                        } else if (failure == null) {
                            bytesRead.addAndGet(spans.bytes());
                            complete(block, r, b);
                            progress.advance(r.read().bytes());
                        }
                    } catch (Throwable e) { // an Error too: uncaught, it ended this task alone and the run went on
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
            parts[k] = source.read(offset + from, ByteBuffer.wrap(buf, from, (int) spans.end(k) - from));
        }
        return CompletableFuture.allOf(parts);
    }

    /**
     * Makes the manifest of a block whose read ranges are in buf, and records it in the
     * index. Only the chunks that the read and zero ranges touch are looked at: the others
     * keep the parent's hash, copied with its manifest (with 4 KiB chunks a block has 1024,
     * and an incremental run touches a few).
     */
    private void complete(int block, BlockRead r, byte[] buf) throws IOException {
        HashList before = parent.manifest(block);
        r.zero().zeroIn(buf);
        int chunks = geometry.chunkCount(block);
        int size = geometry.chunkSize();
        HashList manifest = r.parent().isEmpty() ? new HashList(chunks) : before.copy();
        Ranges changed = Ranges.of(0, r.length()).minus(r.parent());
        int next = 0;
        for (int k = 0; k < changed.count(); k++) {
            int last = (int) ((changed.end(k) - 1) / size);
            for (int c = Math.max(next, (int) (changed.start(k) / size)); c <= last; c++) {
                int from = c * size;
                int len = geometry.chunkLength(block, c);
                parent.fill(r.parent().clip(from, from + len), buf, before, block, c);
                Hash h = store(buf, from, len);
                manifest.set(c, h);
                if (before == null ? !h.isZero() : !before.get(c).equals(h)) {
                    changedChunks.incrementAndGet();
                }
            }
            next = Math.max(next, last + 1);
        }
        Hash mh = manifest.isZero() ? Hash.ZERO : store.id(manifest);
        if (!mh.isZero()) {
            storedBytes.addAndGet(store.putManifest(mh, manifest));
        }
        index.set(block, mh);
    }

    /** Hashes and stores a chunk unless it is zeroes; returns its hash. */
    private Hash store(byte[] data, int from, int len) throws IOException {
        if (Arrays.mismatch(data, from, from + len, zeroes, 0, len) < 0) {
            zeroChunks.incrementAndGet();
            return Hash.ZERO;
        }
        Hash h = store.id(data, from, len);
        long stored = store.put(EntryType.CHUNK, h, data, from, len);
        if (stored > 0) {
            newChunks.incrementAndGet();
            storedBytes.addAndGet(stored);
        }
        return h;
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
