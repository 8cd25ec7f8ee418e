package org.jblksnap.backup;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

import org.jblksnap.repo.Geometry;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.PackStore;

/**
 * The previous point of a run, block by block: its manifests (what an incremental run keeps
 * for the chunks it does not read, and what any run compares its chunks with to count the
 * changed ones), and the content of its chunks, to complete a chunk of which only the
 * changed ranges were read.
 */
final class ParentFill {
    private final PackStore store;
    private final Geometry geometry;
    private final HashList previous;
    private final boolean needed;
    /** Manifests read ahead ({@link #prefetch}), by block, until taken. */
    private final Map<Integer, CompletableFuture<HashList>> ahead = new ConcurrentHashMap<>();

    /**
     * @param previous the index of the device's previous point, or null when there is none
     * @param needed whether the run is incremental to it (an unreadable manifest then fails
     *        the run; otherwise the block's chunks are counted as if there were no previous point)
     */
    ParentFill(PackStore store, Geometry geometry, HashList previous, boolean needed) {
        this.store = store;
        this.geometry = geometry;
        this.previous = previous;
        this.needed = needed;
    }

    /**
     * Starts reading the previous point's manifest of the block on a virtual thread, so that
     * it is there when the block's data is: in a bucket each manifest is a round trip (30 ms
     * on the local gateway), and an incremental run needs one for nearly every block it
     * reads. The caller bounds how many blocks are in flight, and so how many of these.
     */
    void prefetch(int block) {
        if (previous == null || previous.get(block).isZero()) {
            return;
        }
        CompletableFuture<HashList> f = new CompletableFuture<>();
        if (ahead.putIfAbsent(block, f) == null) {
            Thread.ofVirtual().name("parent-manifest").start(() -> {
                try {
                    f.complete(read(block));
                } catch (Throwable e) { // an Error too: the block's worker waits for this future
                    f.completeExceptionally(e);
                }
            });
        }
    }

    /**
     * The previous point's manifest of the block (all zero hashes for a block of zeroes), or
     * null when there is no previous point, or when a full run cannot read it. Never null in
     * an incremental run, the only one whose blocks take ranges from the previous point.
     */
    HashList manifest(int block) throws IOException {
        CompletableFuture<HashList> f = ahead.remove(block);
        if (f == null) {
            return read(block);
        }
        try {
            return f.get();
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case IOException io -> throw io;
                case RuntimeException r -> throw r;
                case Error err -> throw err;
                default -> throw new IOException(e.getCause());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("backup interrupted");
        }
    }

    private HashList read(int block) throws IOException {
        if (previous == null) {
            return null;
        }
        try {
            return store.manifest(geometry, previous, block);
        } catch (IOException e) {
            if (needed) {
                throw e;
            }
            return null;
        }
    }

    /**
     * Copies into buf the ranges (relative to the block) of chunk c, of which manifest (the
     * previous point's) names the content; nothing when the ranges are empty.
     */
    void fill(Ranges ranges, byte[] buf, HashList manifest, int block, int c) throws IOException {
        if (ranges.isEmpty()) {
            return;
        }
        Hash h = manifest.get(c);
        if (h.isZero()) {
            ranges.zeroIn(buf);
        } else {
            ranges.copyInto(buf, store.chunk(h, geometry.chunkLength(block, c)), c * geometry.chunkSize());
        }
    }
}
