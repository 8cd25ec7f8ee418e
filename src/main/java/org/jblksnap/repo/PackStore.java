package org.jblksnap.repo;

import java.io.IOException;
import java.util.Map;

/**
 * The stored content of a repository: chunks and manifests, each one zstd frame named by the
 * id of its content ({@link #id}), in pack files under {@code packs/} (format:
 * {@code docs/REPOSITORY.md#pack-files}). What a backup, a restore or a served point uses of
 * the packs; three parts do the work, each with its own lock:
 *
 * <ul>
 * <li>{@link PackCatalog}: which packs there are and where each entry is (read on first use);
 * <li>{@link PackAppender}: stores new entries, and makes them durable before a commit;
 * <li>{@link EntryReader}: reads entries back, checked, from another copy when one is bad.
 * </ul>
 *
 * Lock order: the appender's monitor, then the catalogue's or the store's; the catalogue's, then the entry table's. A reader takes only the catalogue's (and the
 * table's), so reads never wait for a pack being written to disk. Prune changes the packs
 * themselves ({@link Pruner}).
 */
public final class PackStore implements AutoCloseable {
    private final PackCatalog catalog;
    private final PackAppender appender;
    private final EntryReader reader;
    private final ObjectCodec codec;

    PackStore(ObjectStore store, RepositoryConfig config, ObjectCodec codec, CatalogCache.Known known) {
        this.codec = codec;
        this.catalog = new PackCatalog(store, codec, known);
        this.appender = new PackAppender(config, catalog);
        this.reader = new EntryReader(catalog, config);
    }

    /**
     * The id of a chunk's content, under which {@link #put} stores it: its SHA-256, or in an
     * encrypted repository its HMAC-SHA256 under the repository's id key.
     */
    public Hash id(byte[] data, int off, int length) {
        return codec.id(data, off, length);
    }

    /** The id of a manifest, under which {@link #putManifest} stores it. */
    public Hash id(HashList manifest) {
        byte[] raw = manifest.bytes();
        return codec.id(raw, 0, raw.length);
    }

    /**
     * Stores data[off, off + length) as an entry of the type named h, unless the repository has
     * one already. Returns the bytes it adds to the repository (compressed, and sealed in an
     * encrypted one), 0 if none; a manifest's are held until a flush ({@link PackAppender}).
     */
    public long put(EntryType type, Hash h, byte[] data, int off, int length) throws IOException {
        return appender.put(type, h, data, off, length);
    }

    /**
     * Stores a manifest under its id ({@link #id(HashList)}) unless it is there; returns
     * the bytes it adds, as {@link #put}.
     */
    public long putManifest(Hash h, HashList manifest) throws IOException {
        byte[] raw = manifest.bytes();
        return appender.put(EntryType.MANIFEST, h, raw, 0, raw.length);
    }

    /** A chunk's content, checked against its hash and the length its place needs. */
    public byte[] chunk(Hash h, int length) throws IOException {
        return reader.get(EntryType.CHUNK, h, length);
    }

    /** The same, into dst[off, off + length) (garbage there when it throws): no array per chunk. */
    public void chunk(Hash h, int length, byte[] dst, int off) throws IOException {
        reader.read(EntryType.CHUNK, h, length, dst, off);
    }

    /** A manifest of the given number of chunks, checked against its hash. */
    public HashList manifest(Hash h, int chunks) throws IOException {
        return HashList.fromBytes(reader.get(EntryType.MANIFEST, h, chunks * Hash.BYTES));
    }

    /** The manifest of a point's block (all zero hashes for a block of zeroes), checked. */
    public HashList manifest(Geometry geometry, HashList index, int block) throws IOException {
        Hash h = index.get(block);
        int chunks = geometry.chunkCount(block);
        return h.isZero() ? new HashList(chunks) : manifest(h, chunks);
    }

    /** Whether an entry of that type and hash is stored (in a pack whose index reads). */
    public boolean contains(EntryType type, Hash h) throws IOException {
        return catalog.contains(type, h);
    }

    /** The packs whose index could not be read, with why; they are not used. */
    public Map<String, String> damagedPacks() throws IOException {
        return catalog.damagedPacks();
    }

    /** Makes every entry stored so far durable, so that a point using them may be committed. */
    void flush() throws IOException {
        appender.flush();
    }

    PackCatalog catalog() {
        return catalog;
    }

    EntryReader reader() {
        return reader;
    }

    PackAppender appender() {
        return appender;
    }

    /** Abandons the open pack and the manifests held, if any: no point can use what they hold. */
    @Override
    public void close() throws IOException {
        appender.close();
    }
}
