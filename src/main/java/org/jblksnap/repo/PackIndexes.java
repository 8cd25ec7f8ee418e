package org.jblksnap.repo;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.jblksnap.repo.crypto.AuthenticationFailedException;
import org.jblksnap.repo.crypto.ObjectLabel;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;

/**
 * The persistent index: objects {@code index/ID.idx}, each listing the packs one run finished
 * with their entries, written before the run's point is committed
 * ({@code docs/REPOSITORY.md#persistent-index}). A reader loads every index object instead of
 * reading each pack's footer: one GET per run since the last prune instead of one per pack. It
 * only saves reads: the packs are still listed, a pack no index names is read by its footer,
 * an index entry for a pack that is gone or of another size is ignored, and a damaged index
 * object is skipped, so the index can be late, partial or lost without harm.
 */
final class PackIndexes {
    static final String PREFIX = "index/";
    private static final String SUFFIX = ".idx";
    private static final byte[] MAGIC = "JBSINDEX".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The largest index object read: a 1 GiB stored object is 20 M entries, far more than one run makes. */
    private static final int MAX_BYTES = 1 << 30;
    /** Entries per index object a compaction writes: about 50 MiB of records, 4 TiB of 64 KiB chunks. */
    static final int COMPACT_ENTRIES = 1 << 20;

    /** A pack as an index names it. */
    record IndexedPack(String name, long size, List<PackFile.Entry> entries) {
    }

    private PackIndexes() {
    }

    static boolean isIndexName(String name) {
        return name.startsWith(PREFIX) && name.endsWith(SUFFIX)
                && name.length() == PREFIX.length() + 32 + SUFFIX.length();
    }

    private static ObjectLabel label(String name) {
        return ObjectLabel.of("index", name.substring(PREFIX.length(), name.length() - SUFFIX.length()));
    }

    /** Writes one index object naming the packs, durably; returns its name. */
    static String write(ObjectStore store, ObjectCodec codec, List<IndexedPack> packs) throws IOException {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        String name = PREFIX + HexFormat.of().formatHex(id) + SUFFIX;
        int bytes = 4;
        for (IndexedPack p : packs) {
            bytes += 2 + p.name().length() + 8 + 4 + p.entries().size() * PackFile.RECORD;
        }
        ByteBuffer raw = ByteBuffer.allocate(bytes).putInt(packs.size());
        for (IndexedPack p : packs) {
            byte[] n = p.name().getBytes(StandardCharsets.UTF_8);
            raw.putShort((short) n.length).put(n).putLong(p.size()).putInt(p.entries().size());
            raw.put(PackFile.records(p.entries()));
        }
        byte[] sealed = codec.seal(label(name), Zstd.compress(raw.array(), 3));
        ByteBuffer out = ByteBuffer.allocate(FileHeader.BYTES + 4 + 4 + sealed.length + Hash.BYTES);
        FileHeader.put(out, MAGIC, codec.version()).putInt(bytes).putInt(sealed.length).put(sealed);
        MessageDigest md = Hash.sha256();
        md.update(out.array(), 0, out.position());
        out.put(md.digest());
        store.put(name, out.flip());
        return name;
    }

    /** The index objects in the store. */
    static List<ObjectStore.Stored> list(ObjectStore store) throws IOException {
        List<ObjectStore.Stored> names = new ArrayList<>();
        try {
            for (ObjectStore.Stored o : store.list(PREFIX)) {
                if (isIndexName(o.name())) {
                    names.add(o);
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // a directory repository without index/ yet
        }
        return names;
    }

    /** The packs an index object names, by pack name in its order; a RepositoryException when it is damaged. */
    static Map<String, IndexedPack> read(ObjectStore store, ObjectCodec codec, String name) throws IOException {
        String file = store.describe(name);
        byte[] all = store.get(name);
        try {
            if (all.length > MAX_BYTES || all.length < FileHeader.BYTES + 8 + Hash.BYTES) {
                throw bad(file, "of " + all.length + " bytes");
            }
            MessageDigest md = Hash.sha256();
            md.update(all, 0, all.length - Hash.BYTES);
            if (!Arrays.equals(md.digest(), Arrays.copyOfRange(all, all.length - Hash.BYTES, all.length))) {
                throw bad(file, "checksum mismatch");
            }
            ByteBuffer b = ByteBuffer.wrap(all, 0, all.length - Hash.BYTES);
            FileHeader.check(b, MAGIC, codec.version(), "index " + file, "index object");
            int rawLength = b.getInt();
            int sealedLength = b.getInt();
            if (rawLength < 4 || sealedLength != b.remaining()) {
                throw bad(file, "lengths do not fit");
            }
            byte[] packed = codec.open(label(name), Arrays.copyOfRange(all, b.position(), b.limit()));
            ByteBuffer raw = ByteBuffer.wrap(Zstd.decompress(packed, rawLength));
            int count = raw.getInt();
            Map<String, IndexedPack> packs = new LinkedHashMap<>();
            for (int i = 0; i < count; i++) {
                byte[] n = new byte[raw.getShort() & 0xffff];
                raw.get(n);
                String pack = new String(n, StandardCharsets.UTF_8);
                long size = raw.getLong();
                int entries = raw.getInt();
                if (!PackCatalog.isPackName(pack) || entries < 0 || entries > raw.remaining() / PackFile.RECORD) {
                    throw bad(file, "pack " + i + " is malformed");
                }
                packs.put(pack,
                        new IndexedPack(pack, size, PackFile.entries(raw, entries, size - PackFile.FOOTER, file)));
            }
            return packs;
        } catch (AuthenticationFailedException e) {
            throw bad(file, e.getMessage());
        } catch (BufferUnderflowException | ZstdException | IllegalArgumentException e) {
            throw bad(file, "malformed (" + e.getMessage() + ")");
        }
    }

    /**
     * Rewrites the index objects as few: every pack listed now (live, with its size) goes into
     * new index objects of at most {@link #COMPACT_ENTRIES} entries, its entries taken from the
     * index object that names it with that size, or else from its own footer (a prune's rewrite,
     * a killed run); then the index objects read are deleted: those naming only deleted packs,
     * the damaged ones and the merged ones. Returns how many were deleted and how many written.
     * Reads and writes through the catalogue, so that what its process read or wrote before is
     * not read again ({@link CatalogCache}).
     *
     * <p>Safe beside backups and readers: the new objects are durable before any old one is
     * deleted, and pack contents never change, so a reader that sees both takes the same
     * entries from either. An index object written meanwhile by a backup is not among those
     * read, so it stays. A crash in between leaves duplicates, which the next compaction merges.
     */
    static int[] compact(PackCatalog catalog, Map<String, ObjectStore.Stored> live) throws IOException {
        ObjectStore store = catalog.store();
        List<String> read = new ArrayList<>();
        Map<String, IndexedPack> named = new TreeMap<>();
        for (ObjectStore.Stored listed : list(store)) {
            String name = listed.name();
            try {
                for (IndexedPack ip : catalog.readIndex(listed).values()) {
                    ObjectStore.Stored pack = live.get(ip.name());
                    if (pack != null && pack.size() == ip.size()) {
                        named.putIfAbsent(ip.name(), ip);
                    }
                }
            } catch (RepositoryException damaged) {
                // dropped: its packs are read by their footers below
            } catch (java.nio.file.NoSuchFileException gone) {
                continue;
            }
            read.add(name);
        }
        int written = 0;
        List<IndexedPack> batch = new ArrayList<>();
        int entries = 0;
        for (ObjectStore.Stored p : new TreeMap<>(live).values()) {
            IndexedPack ip = named.remove(p.name());
            if (ip == null) {
                try {
                    ip = new IndexedPack(p.name(), p.size(), catalog.readFooter(p));
                } catch (java.nio.file.NoSuchFileException | RepositoryException goneOrDamaged) {
                    continue; // deleted meanwhile, or verify's to report: no index names it
                }
            }
            batch.add(ip);
            entries += ip.entries().size();
            if (entries >= COMPACT_ENTRIES) {
                catalog.writeIndex(batch);
                written++;
                batch.clear();
                entries = 0;
            }
        }
        if (!batch.isEmpty()) {
            catalog.writeIndex(batch);
            written++;
        }
        store.sync();
        for (String name : read) {
            store.delete(name);
        }
        catalog.deletedIndexes(read);
        return new int[] {read.size(), written};
    }

    private static RepositoryException bad(String file, String what) {
        return new RepositoryException("index " + file + ": " + what);
    }
}
