package org.jblksnap.repo;

import java.io.IOException;
import java.io.InterruptedIOException;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;

/**
 * Stores new entries: each is compressed (and sealed, in an encrypted repository) outside the lock and appended under it to the one
 * pack open for all writers. A pack that reaches the configured size is finished (index,
 * footer, made whole in the store: {@link PackWriter}) on a virtual thread of its own, so
 * that uploads to an object store run in parallel with the backup and with each other (at
 * most {@value #MAX_FINISHING} at once: a writer that fills one more waits), and the next
 * entry starts a new pack. New manifests are held ({@link HeldManifests}) and appended
 * together, {@value #MANIFEST_RUN} bytes at a time and at flush, so a pack may end up to
 * a run past the size. {@link #flush} appends the manifests held, finishes the open pack,
 * waits for those being finished and syncs the store ({@link ObjectStore#sync}): a point may
 * then be committed. A failed pack write breaks the appender for good: its entries are
 * recorded in a pack that will never be whole, so no point may be committed after it.
 *
 * <p>Lock order: {@link PackStore}.
 */
final class PackAppender implements AutoCloseable {
    /** Packs finished at once; each is held whole in memory by an object store until it is uploaded. */
    static final int MAX_FINISHING = 3;
    /**
     * Bytes of new manifests held before they are appended together. A reader of a point's
     * manifests (an incremental's parent, a restore, a verify) reads them in block order; held
     * in runs, they are a few ranged reads of an object store instead of one per block (an
     * incremental of 2 GiB made 511 GETs for its parent's manifests, each between the chunks of
     * its block). 1 MiB holds the manifests of about 2 GiB of device at 64 KiB chunks.
     */
    static final int MANIFEST_RUN = 1 << 20;

    private final RepositoryConfig config;
    private final PackCatalog catalog;
    private final ObjectStore store;
    private final ThreadLocal<byte[]> compressBuffer;
    /** Where an encrypted repository's entries are sealed: no array allocated per chunk. */
    private final ThreadLocal<byte[]> sealBuffer;

    // guarded by this
    private final HeldManifests manifests = new HeldManifests();
    private PackWriter open;
    private int openNumber;
    /** Full packs being finished outside the lock; flush waits for none to be left. */
    private int closing;
    private IOException broken;

    PackAppender(RepositoryConfig config, PackCatalog catalog) {
        this.config = config;
        this.catalog = catalog;
        this.store = catalog.store();
        int largest = Math.max(config.chunkSize(), config.maxManifestLength());
        this.compressBuffer = ThreadLocal.withInitial(() -> new byte[(int) Zstd.compressBound(largest)]);
        this.sealBuffer = ThreadLocal.withInitial(() -> new byte[(int) Zstd.compressBound(largest)
                + catalog.codec().overhead()]);
    }

    /**
     * Stores data[off, off + length) as an entry of the type named h, unless the repository has
     * one already. Returns the bytes it adds to the repository (compressed, and sealed in an
     * encrypted one), 0 if none; a manifest's are held until a flush ({@link PackAppender}).
     */
    long put(EntryType type, Hash h, byte[] data, int off, int length) throws IOException {
        if (h.isZero()) {
            throw new IllegalArgumentException("zeroes are not stored");
        }
        int found = catalog.dedupEntry(type, h);
        if (found >= 0) {
            reuse(found);
            return 0;
        }
        byte[] out = compressBuffer.get();
        int n;
        try {
            n = ZstdContexts.compress(out, 0, out.length, data, off, length, config.zstdLevel());
        } catch (ZstdException e) {
            throw new IOException("zstd compression failed: " + e.getMessage(), e);
        }
        byte[] entry = out;
        int entryLength = n;
        if (catalog.codec().isSealed()) {
            entry = sealBuffer.get(); // written to the pack (copied) before put returns
            entryLength = catalog.codec().sealInto(ObjectCodec.entry(type, h), out, 0, entryLength, entry);
        }
        PackWriter full;
        int fullNumber;
        synchronized (this) {
            checkWritable();
            found = catalog.dedupEntry(type, h);
            if (found >= 0) {
                reuse(found); // another writer stored it meanwhile
                return 0;
            }
            if (type == EntryType.MANIFEST) {
                if (manifests.holds(h)) {
                    return 0; // held already, by this run or another
                }
                manifests.add(h, entry, entryLength, length);
                if (manifests.size() < MANIFEST_RUN) {
                    return entryLength;
                }
                appendHeldManifests();
            } else {
                append(type, h, entry, 0, entryLength, length);
            }
            if (open.size() < config.packSize()) {
                return entryLength;
            }
            full = open;
            fullNumber = openNumber;
            open = null;
            try {
                while (closing >= MAX_FINISHING) {
                    wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                full.abandon();
                throw broken(new InterruptedIOException("interrupted while packs were finished"));
            }
            closing++;
        }
        Thread.ofVirtual().name("pack-finish").start(() -> {
            try {
                finish(full, fullNumber);
            } catch (IOException e) {
                // recorded as broken by finish: the next put or flush reports it
            } finally {
                synchronized (this) {
                    closing--;
                    notifyAll();
                }
            }
        });
        return entryLength;
    }

    /** Appends an entry to the open pack (one is started if none is) and records it; under the lock. */
    private void append(EntryType type, Hash h, byte[] entry, int from, int entryLength, int length) throws IOException {
        try {
            if (open == null) {
                open = PackWriter.create(store, catalog.codec());
                openNumber = catalog.started(open);
            }
            long offset = open.append(type, h, entry, from, entryLength, length);
            catalog.record(type, h, openNumber, offset, entryLength);
        } catch (Throwable e) { // an Error too: the pack may hold part of the entry, and held
            throw broken(e);    // manifests other writers were told are stored may be lost
        }
    }

    /**
     * Appends the manifests held, back to back, to the open pack; under the lock. A failure
     * breaks the appender ({@link #append}): the manifests not appended are dropped, and other
     * writers were told they are stored, so no point may be committed after it.
     */
    private void appendHeldManifests() throws IOException {
        try {
            for (HeldManifests.Held m : manifests.held()) {
                append(EntryType.MANIFEST, m.id(), manifests.bytes(), m.offset(), m.length(), m.rawLength());
            }
        } finally {
            manifests.clear(); // appended, or the appender is broken and they are of no use
        }
    }

    /** The point to be committed uses a stored entry instead of a new one: see {@link ObjectStore#used}. */
    private void reuse(int entry) throws IOException {
        store.used(catalog.packOf(entry));
    }

    /**
     * Finishes the open pack and waits for those being finished; then fsyncs the directories
     * the next point needs synced, and writes the persistent index of the packs finished since
     * the last flush ({@link PackIndexes}).
     */
    synchronized void flush() throws IOException {
        checkWritable();
        if (!manifests.isEmpty()) {
            appendHeldManifests();
        }
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
        store.sync();
        catalog.writeIndex();
    }

    private void finish(PackWriter w, int number) throws IOException {
        try {
            w.finish();
            catalog.finished(number, w.size(), w.entries());
        } catch (Throwable e) { // an Error too: the pack is not stored, so no point may name it
            synchronized (this) {
                throw broken(e);
            }
        }
    }

    private IOException broken(Throwable e) {
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
        if (open != null || closing > 0 || !manifests.isEmpty()) {
            throw new IllegalStateException("packs are being written");
        }
    }

    /**
     * Abandons the open pack, if any, and the manifests held (no point can use what they hold);
     * waits for those being finished.
     */
    @Override
    public synchronized void close() throws IOException {
        manifests.clear();
        boolean interrupted = false;
        while (closing > 0) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (open != null) {
            PackWriter w = open;
            open = null;
            w.abandon();
        }
    }
}
