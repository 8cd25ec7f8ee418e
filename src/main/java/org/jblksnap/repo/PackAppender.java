package org.jblksnap.repo;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.util.Set;

import com.github.luben.zstd.Zstd;

/**
 * Stores new entries: each is compressed outside the lock and appended under it to the one
 * pack open for all writers. A pack that reaches the configured size is finished (index,
 * footer, fsync, rename: {@link PackWriter}) by the writer that filled it, outside the lock,
 * and the next entry starts a new one. {@link #flush} finishes the open pack, waits for those
 * being finished and syncs the directories a point needs ({@link UnsyncedDirectories}): a
 * point may then be committed. A failed pack write breaks the appender for good: its entries
 * are recorded in a pack that will never be whole, so no point may be committed after it.
 *
 * <p>Lock order: {@link PackStore}.
 */
final class PackAppender implements AutoCloseable {
    private final RepositoryConfig config;
    private final PackCatalog catalog;
    private final UnsyncedDirectories unsynced;
    private final ThreadLocal<byte[]> compressBuffer;

    // guarded by this
    private PackWriter open;
    private int openNumber;
    /** Full packs being finished outside the lock; flush waits for none to be left. */
    private int closing;
    private IOException broken;

    PackAppender(RepositoryConfig config, PackCatalog catalog) {
        this.config = config;
        this.catalog = catalog;
        this.unsynced = new UnsyncedDirectories(catalog.root());
        int largest = Math.max(config.chunkSize(), config.maxManifestLength());
        this.compressBuffer = ThreadLocal.withInitial(() -> new byte[(int) Zstd.compressBound(largest)]);
    }

    /**
     * Stores data[off, off + length) as an entry of the type named h, unless the repository has
     * one already. Returns the compressed bytes written, 0 if none.
     */
    long put(EntryType type, Hash h, byte[] data, int off, int length) throws IOException {
        if (h.isZero()) {
            throw new IllegalArgumentException("zeroes are not stored");
        }
        int found = catalog.entryNumber(type, h);
        if (found >= 0) {
            reuse(found);
            return 0;
        }
        byte[] out = compressBuffer.get();
        long n = Zstd.compressByteArray(out, 0, out.length, data, off, length, config.zstdLevel());
        if (Zstd.isError(n)) {
            throw new IOException("zstd compression failed: " + Zstd.getErrorName(n));
        }
        PackWriter full;
        int fullNumber;
        synchronized (this) {
            checkWritable();
            found = catalog.entryNumber(type, h);
            if (found >= 0) {
                reuse(found); // another writer stored it meanwhile
                return 0;
            }
            try {
                if (open == null) {
                    open = PackWriter.create(catalog.root());
                    openNumber = catalog.started(open.temporary());
                }
                long offset = open.append(type, h, out, (int) n, length);
                catalog.record(type, h, openNumber, offset, (int) n);
            } catch (IOException | RuntimeException e) {
                throw broken(e);
            }
            if (open.size() < config.packSize()) {
                return n;
            }
            full = open;
            fullNumber = openNumber;
            open = null;
            closing++;
        }
        try {
            finish(full, fullNumber);
        } finally {
            synchronized (this) {
                closing--;
                notifyAll();
            }
        }
        return n;
    }

    /** The point to be committed uses a stored entry instead of a new one: see {@link UnsyncedDirectories}. */
    private void reuse(int entry) throws IOException {
        unsynced.entryReusedFrom(catalog.packOf(entry));
    }

    /**
     * Finishes the open pack and waits for those being finished; then fsyncs the directories
     * the next point needs synced.
     */
    synchronized void flush() throws IOException {
        checkWritable();
        if (open != null) {
            PackWriter w = open;
            open = null;
            finish(w, openNumber);
        }
        try {
            while (closing > 0) {
                wait();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while packs were closed");
        }
        checkWritable();
        unsynced.syncAll();
    }

    private void finish(PackWriter w, int number) throws IOException {
        Path p;
        try {
            p = w.finish();
        } catch (IOException | RuntimeException e) {
            synchronized (this) {
                throw broken(e);
            }
        }
        catalog.finished(number, p);
        unsynced.packFinished(p, w.madeDirectory());
    }

    private IOException broken(Exception e) {
        IOException io = e instanceof IOException x ? x : new IOException(e.getMessage(), e);
        if (broken == null) {
            broken = io;
        }
        return io;
    }

    private void checkWritable() throws IOException {
        if (broken != null) {
            throw new IOException("a pack could not be written earlier (" + broken.getMessage()
                    + "): nothing more is stored through this repository handle", broken);
        }
    }

    /** Throws unless no pack is open or being finished (prune changes packs only then). */
    synchronized void checkIdle() {
        if (open != null || closing > 0) {
            throw new IllegalStateException("packs are being written");
        }
    }

    /** The directories the next flush fsyncs (for tests and diagnostics). */
    Set<Path> unsyncedDirectories() {
        return unsynced.pending();
    }

    /** Abandons the open pack, if any: no point can use what it holds. */
    @Override
    public synchronized void close() throws IOException {
        if (open != null) {
            PackWriter w = open;
            open = null;
            w.abandon();
        }
    }
}
