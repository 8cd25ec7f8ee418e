package org.jblksnap.repo;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

/**
 * The manifests of one point's blocks, read ahead on virtual threads. In a bucket each
 * manifest is a round trip (about 30 ms on the local gateway), and a run that needs one per
 * block (a restore, an incremental backup's parent) would wait for them in turn. The caller
 * starts the reads of the blocks it will need soon ({@link #readAhead}), bounding how many are
 * ahead, and takes each block's when it needs it ({@link #take}); a block not read ahead is
 * read then. A read's failure, an Error too, is the taker's, as it is.
 */
public final class ManifestsAhead {
    /**
     * Blocks a run of a few workers reads ahead of the one a worker takes: an S3 restore of 2
     * workers waited about 3 s of 20 for its manifests on the local gateway before.
     */
    public static final int DEPTH = 16;
    private final PackStore store;
    private final Geometry geometry;
    private final HashList index;
    /** By block, until taken. */
    private final Map<Integer, CompletableFuture<HashList>> ahead = new ConcurrentHashMap<>();

    public ManifestsAhead(PackStore store, Geometry geometry, HashList index) {
        this.store = store;
        this.geometry = geometry;
        this.index = index;
    }

    /** Starts reading the block's manifest, unless it is read already, past the end or a block of zeroes. */
    public void readAhead(int block) {
        if (block >= index.count() || index.get(block).isZero()) {
            return;
        }
        CompletableFuture<HashList> f = new CompletableFuture<>();
        if (ahead.putIfAbsent(block, f) == null) {
            Thread.ofVirtual().name("manifest-ahead").start(() -> {
                try {
                    f.complete(store.manifest(geometry, index, block));
                } catch (Throwable e) { // an Error too: the taker waits for this future
                    f.completeExceptionally(e);
                }
            });
        }
    }

    /** The block's manifest (all zero hashes for a block of zeroes), checked. */
    public HashList take(int block) throws IOException {
        CompletableFuture<HashList> f = ahead.remove(block);
        if (f == null) {
            return store.manifest(geometry, index, block);
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
            throw new InterruptedIOException("interrupted while the manifest of block " + block + " was read");
        }
    }
}
