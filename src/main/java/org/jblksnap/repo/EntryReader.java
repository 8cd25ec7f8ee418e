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
        EntryTable.Location at = catalog.locate(type, h);
        PackFile.Source pack = catalog.source(at.pack());
        try {
            return decode(type, h, PackFile.readFrame(pack, at.offset(), at.length()), length, pack.shown());
        } catch (IOException unreadable) {
            byte[] copy = fromAnotherCopy(type, h, length, catalog.packName(at.pack()));
            if (copy != null) {
                return copy;
            }
            if (unreadable instanceof NoSuchFileException) {
                throw new BadEntryException(type, h, true, "missing (its pack " + pack.shown() + " is gone)");
            }
            throw unreadable;
        }
    }

    /**
     * Whether the copy of an entry that reads use decodes and matches its hash, without
     * trying any other copy; false too when it cannot be read at all.
     */
    boolean readCopyIsGood(EntryType type, Hash h, int length) throws IOException {
        EntryTable.Location at = catalog.locate(type, h);
        PackFile.Source pack = catalog.source(at.pack());
        try {
            decode(type, h, PackFile.readFrame(pack, at.offset(), at.length()), length, pack.shown());
            return true;
        } catch (IOException unreadable) {
            return false;
        }
    }

    /**
     * The entry read from a good copy in a finished pack other than unreadable, the one reads
     * use; null when there is none. Only a copy that cannot be read brings a read here, so
     * reading pack indexes again costs nothing in the normal case.
     */
    private byte[] fromAnotherCopy(EntryType type, Hash h, int length, String unreadable) throws IOException {
        ObjectStore store = catalog.store();
        for (ObjectStore.Stored o : catalog.packObjects()) {
            if (o.name().equals(unreadable)) {
                continue;
            }
            PackFile.Source p = PackFile.Source.of(store, o.name(), o.size());
            try {
                for (PackFile.Entry e : PackFile.readIndex(catalog.codec(), p)) {
                    if (e.type() == type && e.hash().equals(h)) {
                        return decode(type, h, PackFile.readFrame(p, e.offset(), e.length()), length, p.shown());
                    }
                }
            } catch (IOException tryNext) {
                // a damaged or vanished pack, or a damaged copy: try the next
            }
        }
        return null;
    }

    /**
     * Opens a stored entry (in an encrypted repository), decompresses its frame and checks it: the content size its header gives, the expected
     * length (for a chunk, at most the chunk size; for a manifest, whole hashes of a block at
     * the most) and the hash.
     */
    byte[] decode(EntryType type, Hash h, byte[] stored, int length, String file) throws BadEntryException {
        return decode(type, h, stored, 0, stored.length, length, file);
    }

    /**
     * The same of the stored entry at stored[off, off + len), read in place: verify reads a
     * pack whole and decodes its entries without copying each out first.
     */
    byte[] decode(EntryType type, Hash h, byte[] stored, int off, int len, int length, String file)
            throws BadEntryException {
        byte[] frame = stored;
        int frameOff = off;
        int frameLen = len;
        if (catalog.codec().isSealed()) {
            try {
                frame = catalog.codec().open(ObjectCodec.entry(type, h), stored, off, len);
            } catch (AuthenticationFailedException e) {
                throw bad(type, h, "does not authenticate: it was altered, or is another entry", file);
            }
            frameOff = 0;
            frameLen = frame.length;
        }
        int max = type == EntryType.CHUNK ? config.chunkSize() : config.maxManifestLength();
        if (length <= 0 || length > max || (type == EntryType.MANIFEST && length % Hash.BYTES != 0)) {
            throw bad(type, h, "a length of " + length + " bytes does not fit a " + type, file);
        }
        byte[] data;
        try {
            long size = Zstd.getFrameContentSize(frame, frameOff, frameLen);
            if (size < 0 || size > max) {
                throw bad(type, h, "not a zstd frame of at most " + max + " bytes", file);
            }
            if (size != length) {
                throw bad(type, h, "is " + size + " bytes where " + length + " are needed", file);
            }
            data = new byte[(int) size];
            long n = ZstdContexts.decompress(data, 0, data.length, frame, frameOff, frameLen);
            if (n != size) {
                throw bad(type, h, "decompresses to " + n + " bytes instead of " + size, file);
            }
        } catch (ZstdException e) {
            throw bad(type, h, "cannot be decompressed (" + e.getMessage() + ")", file);
        }
        if (!catalog.codec().id(data, 0, data.length).equals(h)) {
            throw bad(type, h, "content does not match its hash", file);
        }
        return data;
    }

    private static BadEntryException bad(EntryType type, Hash h, String problem, String file) {
        return new BadEntryException(type, h, false, problem + " (in pack " + file + ")");
    }
}
