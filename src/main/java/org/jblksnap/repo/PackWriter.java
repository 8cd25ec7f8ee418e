package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Writes one pack ({@link PackFile}) through the store and makes it whole at {@link #finish}
 * ({@code docs/REPOSITORY.md#pack-files}); it is durable after the store's next
 * {@link ObjectStore#sync}, which the caller runs before anything that relies on the pack is
 * committed. Not thread-safe.
 */
final class PackWriter {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String name;
    private final ObjectCodec codec;
    private final ObjectStore.Writer out;
    private final List<PackFile.Entry> entries = new ArrayList<>();

    private PackWriter(String name, ObjectCodec codec, ObjectStore.Writer out) {
        this.name = name;
        this.codec = codec;
        this.out = out;
    }

    /** Starts a pack with a new random id; its entries come sealed when the codec seals. */
    static PackWriter create(ObjectStore store, ObjectCodec codec) throws IOException {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        String hex = HexFormat.of().formatHex(id);
        String name = PackCatalog.PREFIX + hex.substring(0, 2) + "/" + hex + PackFile.SUFFIX;
        PackWriter w = new PackWriter(name, codec, store.writer(name));
        try {
            w.out.write(PackFile.header(codec));
        } catch (IOException | RuntimeException e) {
            w.abandon();
            throw e;
        }
        return w;
    }

    /** Its name in the store. */
    String name() {
        return name;
    }

    /** The entries appended, in file order. */
    List<PackFile.Entry> entries() {
        return List.copyOf(entries);
    }

    /** Bytes written so far. */
    long size() {
        return out.size();
    }

    /** Bytes written so far, read back (a pack being written serves reads too). */
    byte[] read(long offset, int length) throws IOException {
        return out.read(offset, length);
    }

    /**
     * Appends the frame in frame[from, from + length) (sealed already in an encrypted repository;
     * copied, not kept); returns its offset in the pack.
     */
    long append(EntryType type, Hash hash, byte[] frame, int from, int length, int rawLength) throws IOException {
        long offset = out.size();
        out.write(ByteBuffer.wrap(frame, from, length));
        entries.add(new PackFile.Entry(type, hash, offset, length, rawLength));
        return offset;
    }

    /** Writes the index and footer and makes the pack whole under its name. */
    void finish() throws IOException {
        try {
            out.write(PackFile.trailer(codec, name, out.size(), entries));
        } catch (Throwable e) {
            abandon();
            throw e;
        }
        out.finish();
    }

    /** Drops the unfinished pack. */
    void abandon() throws IOException {
        out.abandon();
    }
}
