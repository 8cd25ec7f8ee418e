package org.jblksnap.fuse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.device.BlockIo;

/**
 * A read-only view of a slow source (a backup point in a repository) that fetches it in
 * aligned units on demand and keeps the most recently used units, up to a byte budget. Two
 * readers of one missing unit wait for one fetch. It counts what it fetched from the source,
 * which is what browsing a point costs.
 */
public final class ReadCache implements BlockIo {
    private final BlockIo source;
    private final int unit;
    private final int maxUnits;
    private final Map<Long, byte[]> units;
    private final ConcurrentHashMap<Long, CompletableFuture<byte[]>> loading = new ConcurrentHashMap<>();
    private final AtomicLong fetchedBytes = new AtomicLong();
    private final AtomicLong fetches = new AtomicLong();

    /** Units of unitBytes (a multiple of 512), at most budgetBytes of them kept. */
    public ReadCache(BlockIo source, int unitBytes, long budgetBytes) {
        if (unitBytes <= 0 || unitBytes % 512 != 0) {
            throw new IllegalArgumentException("cache unit " + unitBytes + " is not a positive multiple of 512");
        }
        this.source = source;
        this.unit = unitBytes;
        this.maxUnits = (int) Math.max(1, Math.min(Integer.MAX_VALUE, budgetBytes / unitBytes));
        this.units = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
                return size() > maxUnits;
            }
        };
    }

    /** Bytes read from the source so far. */
    public long fetchedBytes() {
        return fetchedBytes.get();
    }

    /** Reads of the source so far (one per unit fetched). */
    public long fetches() {
        return fetches.get();
    }

    @Override
    public long capacity() {
        return source.capacity();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            long index = pos / unit;
            int in = (int) (pos - index * unit);
            byte[] b = unit(index);
            int n = Math.min(dst.remaining(), b.length - in);
            dst.put(b, in, n);
            pos += n;
        }
    }

    private byte[] unit(long index) throws IOException {
        synchronized (units) {
            byte[] b = units.get(index);
            if (b != null) {
                return b;
            }
        }
        CompletableFuture<byte[]> mine = new CompletableFuture<>();
        CompletableFuture<byte[]> running = loading.putIfAbsent(index, mine);
        if (running != null) {
            try {
                return running.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof UncheckedIOException u ? u.getCause() : new IOException(e.getCause());
            }
        }
        try {
            byte[] b = fetch(index);
            synchronized (units) {
                units.put(index, b);
            }
            mine.complete(b);
            return b;
        } catch (IOException | RuntimeException e) {
            mine.completeExceptionally(e instanceof IOException io ? new UncheckedIOException(io) : e);
            throw e;
        } finally {
            loading.remove(index, mine);
        }
    }

    private byte[] fetch(long index) throws IOException {
        long from = index * unit;
        int length = (int) Math.min(unit, source.capacity() - from);
        byte[] b = new byte[length];
        source.read(from, ByteBuffer.wrap(b));
        fetchedBytes.addAndGet(length);
        fetches.incrementAndGet();
        return b;
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        throw new IOException("read-only");
    }

    @Override
    public void flush() {
        // nothing is ever written
    }

    @Override
    public boolean isReadOnly() {
        return true;
    }
}
