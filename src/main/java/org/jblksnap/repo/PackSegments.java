package org.jblksnap.repo;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;

/**
 * The segments of packs an object store read lately, with read-ahead. A restore or a check
 * reads a pack's entries in order, a small range each; one request per entry would cost a
 * round trip per chunk, and one per segment, waited for in turn, leaves the link idle while
 * each answer is decoded. So packs are read in fixed segments, the last {@code capacity} kept,
 * and once a pack is read in order (segment k asked for while k - 1 is kept) the next
 * {@code AHEAD} segments are fetched on virtual threads before they are asked for, at most
 * {@code MAX_IN_FLIGHT} at a time. A small read that jumps (a backup's parent manifests)
 * fetches just its bytes, and nothing ahead.
 *
 * <p>A pack never changes under its name (ids are random; prune writes a new pack), so a kept
 * segment stays true. A fetch that fails is forgotten: whoever asks next fetches again and
 * gets its own error.
 */
final class PackSegments {
    /** Fetches length bytes of name from offset (fewer at the object's end, none past it). */
    @FunctionalInterface
    interface Fetch {
        byte[] fetch(String name, long offset, int length) throws IOException;
    }

    static final int AHEAD = 2;
    static final int MAX_IN_FLIGHT = 8;

    private final int segment;
    private final Fetch fetch;
    private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
    /** By "name@offset", least recently used first; a future while its fetch runs. */
    private final Map<String, CompletableFuture<byte[]>> kept;
    /** Where the last read of each pack lately read ended (guarded by kept). */
    private final Map<String, Long> lastEnds = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > 1024;
        }
    };

    PackSegments(int segment, int capacity, Fetch fetch) {
        this.segment = segment;
        this.fetch = fetch;
        this.kept = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, CompletableFuture<byte[]>> eldest) {
                return size() > capacity;
            }
        };
    }

    /**
     * length bytes of the pack from offset, fewer when it ends before. A small read that does
     * not follow the pack's last read (a backup's parent manifest, the first entry a restore
     * reads of a pack) fetches just its range, unless its segment is kept: a whole segment
     * would cost a thousand times the bytes for a scattered 1-2 KiB manifest.
     */
    byte[] read(String name, long offset, int length) throws IOException {
        boolean follows;
        synchronized (kept) {
            Long last = lastEnds.put(name, offset + length);
            follows = last != null && offset >= last && offset - last <= segment / 4;
            follows |= kept.containsKey(key(name, offset / segment * segment));
        }
        if (!follows && length <= segment / 4) {
            return fetch.fetch(name, offset, length);
        }
        byte[] out = new byte[length];
        int done = 0;
        while (done < length) {
            long at = offset + done;
            long first = at / segment * segment;
            byte[] seg = segment(name, first);
            int from = (int) (at - first);
            if (from >= seg.length) {
                break; // the object ends before
            }
            int n = Math.min(seg.length - from, length - done);
            System.arraycopy(seg, from, out, done, n);
            done += n;
            if (seg.length < segment) {
                break;
            }
        }
        return done == length ? out : java.util.Arrays.copyOf(out, done);
    }

    private byte[] segment(String name, long start) throws IOException {
        CompletableFuture<byte[]> f;
        boolean mine = false;
        boolean inOrder;
        synchronized (kept) {
            f = kept.get(key(name, start));
            if (f == null) {
                f = new CompletableFuture<>();
                kept.put(key(name, start), f);
                mine = true;
            }
            inOrder = start >= segment && kept.containsKey(key(name, start - segment));
        }
        if (mine) {
            load(name, start, f);
        }
        byte[] seg;
        try {
            seg = f.get();
        } catch (ExecutionException e) {
            if (mine) {
                throw rethrown(e.getCause());
            }
            return segmentAgain(name, start); // another's fetch (read-ahead) failed: try ours
        } catch (InterruptedException e) {
            throw interrupted(name);
        }
        if (inOrder && seg.length == segment) {
            for (int k = 1; k <= AHEAD; k++) {
                ahead(name, start + (long) k * segment);
            }
        }
        return seg;
    }

    private byte[] segmentAgain(String name, long start) throws IOException {
        CompletableFuture<byte[]> f = new CompletableFuture<>();
        synchronized (kept) {
            kept.put(key(name, start), f);
        }
        load(name, start, f);
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw rethrown(e.getCause());
        } catch (InterruptedException e) {
            throw interrupted(name);
        }
    }

    /** Starts fetching a segment nobody asked for yet, if the budget of fetches ahead allows. */
    private void ahead(String name, long start) {
        CompletableFuture<byte[]> f = new CompletableFuture<>();
        synchronized (kept) {
            if (kept.containsKey(key(name, start)) || !inFlight.tryAcquire()) {
                return;
            }
            kept.put(key(name, start), f);
        }
        Thread.ofVirtual().name("pack-read-ahead").start(() -> {
            try {
                load(name, start, f);
            } finally {
                inFlight.release();
            }
        });
    }

    private void load(String name, long start, CompletableFuture<byte[]> f) {
        try {
            f.complete(fetch.fetch(name, start, segment));
        } catch (Throwable e) { // an Error too: a reader may be waiting for this future
            synchronized (kept) {
                kept.remove(key(name, start), f);
            }
            f.completeExceptionally(e);
        }
    }

    private static java.io.InterruptedIOException interrupted(String name) {
        Thread.currentThread().interrupt();
        return new java.io.InterruptedIOException("interrupted while reading " + name);
    }

    private static IOException rethrown(Throwable cause) {
        if (cause instanceof IOException io) {
            return io;
        }
        if (cause instanceof RuntimeException r) {
            throw r;
        }
        if (cause instanceof Error err) {
            throw err;
        }
        return new IOException(cause);
    }

    /** Forgets what is kept of name (deleted: a read must find it gone). */
    void forget(String name) {
        synchronized (kept) {
            kept.keySet().removeIf(k -> k.startsWith(name + "@"));
            lastEnds.remove(name);
        }
    }

    private static String key(String name, long start) {
        return name + "@" + start;
    }
}
