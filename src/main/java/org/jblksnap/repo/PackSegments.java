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
 * and once a pack is read in order (segment k asked for while k - 1 is kept) the segments up
 * to {@code AHEAD} past k are fetched on virtual threads before they are asked for, {@code RUN}
 * segments a request (fewer requests: each costs the server a lookup and the client a signed
 * request), at most {@code MAX_IN_FLIGHT} requests at a time. A small read that jumps (a
 * backup's parent manifests) fetches just its bytes, and nothing ahead.
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

    /** How many segments past the one read in order are kept fetched or being fetched. */
    static final int AHEAD = 8;
    /** Segments fetched ahead in one request; a shorter run waits until it is this long. */
    static final int RUN = 4;
    static final int MAX_IN_FLIGHT = 8;

    /** A range of a pack fetched in one request: segments from start, its bytes once there. */
    private record Piece(long start, int length, CompletableFuture<byte[]> bytes) {
    }

    private final int segment;
    private final Fetch fetch;
    private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
    /**
     * By "name@offset" of each segment, least recently used first: the piece that holds it (a
     * piece of several segments is under each of their keys, and forgotten with all of them
     * when the least recently used goes: what is kept holds at most capacity + RUN - 1 segments).
     */
    private final Map<String, Piece> kept;
    /** Where the last read of each pack lately read ended (guarded by kept). */
    private final Map<String, Long> lastEnds = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > 1024;
        }
    };

    /** Where each pack lately read ends, once a fetch came back short (guarded by kept). */
    private final Map<String, Long> ends = new LinkedHashMap<>(16, 0.75f, true) {
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
            protected boolean removeEldestEntry(Map.Entry<String, Piece> eldest) {
                if (size() <= capacity) {
                    return false;
                }
                // the piece goes whole: one of its segments kept would keep all its bytes
                String name = eldest.getKey().substring(0, eldest.getKey().lastIndexOf('@'));
                Piece p = eldest.getValue();
                for (long s = p.start(); s < p.start() + p.length(); s += segment) {
                    remove(key(name, s), p);
                }
                return false;
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
            Piece p = segment(name, first);
            byte[] bytes = p.bytes().join(); // done: segment waited for it
            int from = (int) (at - p.start());
            if (from >= bytes.length) {
                break; // the object ends before
            }
            int n = (int) Math.min(Math.min(bytes.length, first + segment - p.start()) - from, length - done);
            System.arraycopy(bytes, from, out, done, n);
            done += n;
            if (p.start() + bytes.length < first + segment) {
                break;
            }
        }
        return done == length ? out : java.util.Arrays.copyOf(out, done);
    }

    /** The piece that holds the segment at start, fetched (by this thread if nobody is). */
    private Piece segment(String name, long start) throws IOException {
        Piece p;
        boolean mine = false;
        boolean inOrder;
        synchronized (kept) {
            p = kept.get(key(name, start));
            if (p == null) {
                p = new Piece(start, segment, new CompletableFuture<>());
                kept.put(key(name, start), p);
                mine = true;
            }
            inOrder = start >= segment && kept.containsKey(key(name, start - segment));
        }
        if (mine) {
            load(name, p);
        }
        byte[] bytes;
        try {
            bytes = p.bytes().get();
        } catch (ExecutionException e) {
            if (mine) {
                throw rethrown(e.getCause());
            }
            return segmentAgain(name, start); // another's fetch (read-ahead) failed: try ours
        } catch (InterruptedException e) {
            throw interrupted(name);
        }
        if (inOrder && p.start() + bytes.length >= start + segment) {
            ahead(name, start);
        }
        return p;
    }

    private Piece segmentAgain(String name, long start) throws IOException {
        Piece p = new Piece(start, segment, new CompletableFuture<>());
        synchronized (kept) {
            kept.put(key(name, start), p);
        }
        load(name, p);
        try {
            p.bytes().get();
            return p;
        } catch (ExecutionException e) {
            throw rethrown(e.getCause());
        } catch (InterruptedException e) {
            throw interrupted(name);
        }
    }

    /**
     * Starts fetching the segments of the next {@link #AHEAD} after start that nobody asked
     * for yet, in runs of {@link #RUN}, as far as the budget of requests allows. A run shorter
     * than that at the window's end waits for the reads to move on (the window refills a run at
     * a time), unless it is the very next segment.
     */
    private void ahead(String name, long start) {
        long end = start + (long) (AHEAD + 1) * segment;
        synchronized (kept) {
            end = Math.min(end, ends.getOrDefault(name, Long.MAX_VALUE));
        }
        for (long s = start + segment; s < end;) {
            Piece p;
            synchronized (kept) {
                if (kept.containsKey(key(name, s))) {
                    s += segment;
                    continue;
                }
                int n = 1;
                while (n < RUN && s + (long) n * segment < end && !kept.containsKey(key(name, s + (long) n * segment))) {
                    n++;
                }
                boolean atEnd = s + (long) n * segment >= end;
                if (n < RUN && atEnd && s > start + segment || !inFlight.tryAcquire()) {
                    return;
                }
                p = new Piece(s, n * segment, new CompletableFuture<>());
                for (int k = 0; k < n; k++) {
                    kept.put(key(name, s + (long) k * segment), p);
                }
                s += (long) n * segment;
            }
            Piece fetching = p;
            Thread.ofVirtual().name("pack-read-ahead").start(() -> {
                try {
                    load(name, fetching);
                } finally {
                    inFlight.release();
                }
            });
        }
    }

    private void load(String name, Piece p) {
        try {
            byte[] bytes = fetch.fetch(name, p.start(), p.length());
            if (bytes.length < p.length()) {
                synchronized (kept) {
                    ends.put(name, p.start() + bytes.length);
                }
            }
            p.bytes().complete(bytes);
        } catch (Throwable e) { // an Error too: a reader may be waiting for this future
            synchronized (kept) {
                for (long s = p.start(); s < p.start() + p.length(); s += segment) {
                    kept.remove(key(name, s), p);
                }
            }
            p.bytes().completeExceptionally(e);
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
            ends.remove(name);
        }
    }

    private static String key(String name, long start) {
        return name + "@" + start;
    }
}
