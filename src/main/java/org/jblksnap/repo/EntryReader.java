package org.jblksnap.repo;

import java.io.IOException;
import java.nio.file.NoSuchFileException;

import org.jblksnap.repo.crypto.AuthenticationFailedException;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;

/**
 * Reads stored entries and checks each one: decompressed, of the length its use needs, and
 * hashing to its name. The copy the catalogue names is read; when it cannot be read, another
 * copy serves ({@link #get}). Thread-safe.
 */
final class EntryReader {
    /** Each thread's buffer for the plaintext of the sealed entry it decodes ({@link #decode}). */
    private static final ThreadLocal<byte[]> OPENED = ThreadLocal.withInitial(() -> new byte[0]);
    /** Each thread's buffer for the stored entry it reads ({@link #read}). */
    private static final ThreadLocal<byte[]> STORED = ThreadLocal.withInitial(() -> new byte[0]);
    private final PackCatalog catalog;
    private final RepositoryConfig config;

    EntryReader(PackCatalog catalog, RepositoryConfig config) {
        this.catalog = catalog;
        this.config = config;
    }

    /**
     * An entry's content, checked against its hash and the expected length. When the copy
     * reads use cannot be read, another copy serves: the copy may be damaged or cut short
     * while a crash or two backups at once left the entry in two packs, or its pack may have
     * been finished by another thread meanwhile (its writer closed before the catalogue
     * learnt it, and the pack found again in the store).
     */
    byte[] get(EntryType type, Hash h, int length) throws IOException {
        byte[] data = new byte[Math.max(0, length)]; // a length that does not fit is refused, naming the pack
        read(type, h, length, data, 0);
        return data;
    }

    /**
     * The same, decompressed into dst[off, off + length) instead of a new array: a restore
     * assembles a block's chunks in one buffer. dst holds garbage there when this throws.
     */
    void read(EntryType type, Hash h, int length, byte[] dst, int off) throws IOException {
        EntryTable.Location at = catalog.locate(type, h);
        PackFile.Source pack = catalog.source(at.pack());
        try {
            byte[] stored = buffer(STORED, at.length());
            PackFile.readFrame(pack, at.offset(), at.length(), stored);
            decode(type, h, stored, 0, at.length(), length, pack.shown(), dst, off);
        } catch (IOException unreadable) {
            if (fromAnotherCopy(type, h, length, catalog.packName(at.pack()), dst, off)) {
                return;
            }
            if (unreadable instanceof NoSuchFileException) {
                throw new BadEntryException(type, h, true, "missing (its pack " + pack.shown() + " is gone)");
            }
            throw unreadable;
        }
    }

    /** The most bytes an entry's content may have: a buffer of that size holds any entry. */
    int maxLength() {
        return Math.max(config.chunkSize(), config.maxManifestLength());
    }

    /**
     * Whether the copy of an entry that reads use decodes and matches its hash, without
     * trying any other copy; false too when it cannot be read at all.
     */
    boolean readCopyIsGood(EntryType type, Hash h, int length) throws IOException {
        EntryTable.Location at = catalog.locate(type, h);
        PackFile.Source pack = catalog.source(at.pack());
        try {
            byte[] stored = PackFile.readFrame(pack, at.offset(), at.length());
            decode(type, h, stored, 0, stored.length, length, pack.shown(), new byte[Math.max(0, length)], 0);
            return true;
        } catch (IOException unreadable) {
            return false;
        }
    }

    /**
     * Reads the entry from a good copy in a finished pack other than unreadable, the one reads
     * use, into dst[off, off + length); false when there is none. Only a copy that cannot be
     * read brings a read here, so reading pack indexes again costs nothing in the normal case.
     */
    private boolean fromAnotherCopy(EntryType type, Hash h, int length, String unreadable, byte[] dst, int off)
            throws IOException {
        ObjectStore store = catalog.store();
        for (ObjectStore.Stored o : catalog.packObjects()) {
            if (o.name().equals(unreadable)) {
                continue;
            }
            PackFile.Source p = PackFile.Source.of(store, o.name(), o.size());
            try {
                for (PackFile.Entry e : PackFile.readIndex(catalog.codec(), p)) {
                    if (e.type() == type && e.hash().equals(h)) {
                        byte[] stored = PackFile.readFrame(p, e.offset(), e.length());
                        decode(type, h, stored, 0, stored.length, length, p.shown(), dst, off);
                        return true;
                    }
                }
            } catch (IOException tryNext) {
                // a damaged or vanished pack, or a damaged copy: try the next
            }
        }
        return false;
    }

    /**
     * Opens the stored entry at stored[off, off + len) (in an encrypted repository, into a
     * buffer of this thread's: no array per entry), decompresses its frame into dst[dstOff,
     * dstOff + length) and checks it: the content size its header gives, the expected length
     * (for a chunk, at most the chunk size; for a manifest, whole hashes of a block at the
     * most) and the hash. Verify decodes in place in a pack read whole, a restore into the
     * buffer of a block; dst holds garbage when this throws.
     */
    void decode(EntryType type, Hash h, byte[] stored, int off, int len, int length, String file, byte[] dst,
            int dstOff) throws BadEntryException {
        byte[] frame = stored;
        int frameOff = off;
        int frameLen = len;
        if (catalog.codec().isSealed()) {
            frame = buffer(OPENED, len - catalog.codec().overhead());
            try {
                frameLen = catalog.codec().openInto(ObjectCodec.entry(type, h), stored, off, len, frame);
            } catch (AuthenticationFailedException e) {
                // frame holds nothing to use (the JDK zeroes what it decrypted): decompression never sees it
                throw bad(type, h, "does not authenticate: it was altered, or is another entry", file);
            }
            frameOff = 0;
        }
        int max = type == EntryType.CHUNK ? config.chunkSize() : config.maxManifestLength();
        if (length <= 0 || length > max || (type == EntryType.MANIFEST && length % Hash.BYTES != 0)) {
            throw bad(type, h, "a length of " + length + " bytes does not fit a " + type, file);
        }
        try {
            long size = Zstd.getFrameContentSize(frame, frameOff, frameLen);
            if (size < 0 || size > max) {
                throw bad(type, h, "not a zstd frame of at most " + max + " bytes", file);
            }
            if (size != length) {
                throw bad(type, h, "is " + size + " bytes where " + length + " are needed", file);
            }
            long n = ZstdContexts.decompress(dst, dstOff, length, frame, frameOff, frameLen);
            if (n != size) {
                throw bad(type, h, "decompresses to " + n + " bytes instead of " + size, file);
            }
        } catch (ZstdException e) {
            throw bad(type, h, "cannot be decompressed (" + e.getMessage() + ")", file);
        }
        if (!catalog.codec().id(dst, dstOff, length).equals(h)) {
            throw bad(type, h, "content does not match its hash", file);
        }
    }

    /**
     * This thread's buffer of the kind, of at least length bytes: a new one only when an entry
     * is larger than any this thread read before (a stored chunk is at most a little larger
     * than the chunk size). A length no good entry has (a damaged index's) gets an array of its
     * own, which the thread does not keep.
     */
    private byte[] buffer(ThreadLocal<byte[]> kind, int length) {
        if (length > 2 * maxLength()) {
            return new byte[length];
        }
        byte[] b = kind.get();
        if (b.length < length) {
            b = new byte[length];
            kind.set(b);
        }
        return b;
    }

    private static BadEntryException bad(EntryType type, Hash h, String problem, String file) {
        return new BadEntryException(type, h, false, problem + " (in pack " + file + ")");
    }
}
