package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

import org.jblksnap.repo.crypto.AuthenticationFailedException;
import org.jblksnap.repo.crypto.ObjectLabel;

/**
 * Encodes and checks the bytes of a pack file: its header, its index and footer (the
 * trailer), and reads an entry's frame. Format: {@code docs/REPOSITORY.md#pack-files}.
 * {@link PackWriter} writes packs, {@link PackCatalog} finds them.
 */
final class PackFile {
    static final String SUFFIX = ".pack";
    static final int HEADER = FileHeader.BYTES;
    static final int RECORD = 1 + Hash.BYTES + 8 + 4 + 4;
    static final int FOOTER = 24;
    private static final byte[] MAGIC = "JBSPACK\0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "JBSPKEND".getBytes(StandardCharsets.US_ASCII);

    /** One entry of a pack's index. */
    record Entry(EntryType type, Hash hash, long offset, int length, int rawLength) {
    }

    private PackFile() {
    }

    static ByteBuffer header(ObjectCodec codec) {
        return FileHeader.put(ByteBuffer.allocate(HEADER), MAGIC, codec.version()).flip();
    }

    /** The label of the index of the pack of that name: its id, so that an index opens only in its own pack. */
    static ObjectLabel indexLabel(String name) {
        String file = name.substring(name.lastIndexOf('/') + 1);
        return ObjectLabel.of("pack-index", file.substring(0, file.length() - SUFFIX.length()));
    }

    /** The index (sealed in an encrypted repository) and footer of a pack whose entries end where the index starts. */
    static ByteBuffer trailer(ObjectCodec codec, String name, long indexOffset, List<Entry> entries) {
        byte[] index = codec.seal(indexLabel(name), records(entries));
        ByteBuffer b = ByteBuffer.allocate(index.length + FOOTER);
        b.put(index).putLong(indexOffset).putInt(entries.size());
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue()).put(END);
        return b.flip();
    }

    /** The bytes of a pack, read in ranges: an object in the store, or a whole pack read into memory. */
    interface Source {
        long size();

        /** length bytes from offset; fewer only when the pack ends before. */
        byte[] read(long offset, int length) throws IOException;

        /** The same into dst[0, length); returns how many bytes were read. */
        default int read(long offset, int length, byte[] dst) throws IOException {
            byte[] b = read(offset, length);
            System.arraycopy(b, 0, dst, 0, b.length);
            return b.length;
        }

        /** The pack as messages name it. */
        String shown();

        /** Its name in the store. */
        String name();

        static Source of(ObjectStore store, String name, long size) {
            return new Source() {
                public String name() {
                    return name;
                }

                public long size() {
                    return size;
                }

                public byte[] read(long offset, int length) throws IOException {
                    return store.getRange(name, offset, length);
                }

                @Override
                public int read(long offset, int length, byte[] dst) throws IOException {
                    return store.getRange(name, offset, dst, 0, length);
                }

                public String shown() {
                    return store.describe(name);
                }
            };
        }

        static Source of(byte[] whole, String name, String shown) {
            return new Source() {
                public String name() {
                    return name;
                }

                public long size() {
                    return whole.length;
                }

                public byte[] read(long offset, int length) {
                    int from = (int) Math.min(offset, whole.length);
                    return Arrays.copyOfRange(whole, from, (int) Math.min(whole.length, offset + length));
                }

                public String shown() {
                    return shown;
                }
            };
        }
    }

    /**
     * Reads and checks a pack's index (opened, in an encrypted repository). Every problem is a
     * RepositoryException naming the pack.
     */
    static List<Entry> readIndex(ObjectCodec codec, Source pack) throws IOException {
        long size = pack.size();
        String file = pack.shown();
        if (size < HEADER + FOOTER) {
            throw bad(file, "cut short: " + size + " bytes, less than a header and a footer");
        }
        FileHeader.check(read(pack, 0, HEADER), MAGIC, codec.version(), "pack " + file, "pack file");
        ByteBuffer foot = read(pack, size - FOOTER, FOOTER);
        long indexOffset = foot.getLong();
        int count = foot.getInt();
        int crc = foot.getInt();
        byte[] end = new byte[END.length];
        foot.get(end);
        if (!Arrays.equals(end, END)) {
            throw bad(file, "cut short or unfinished: no footer at its end");
        }
        if (count < 0 || indexOffset < HEADER || indexOffset + (long) count * RECORD + codec.overhead() + FOOTER != size) {
            throw bad(file, "footer (index at " + indexOffset + ", " + count + " entries) does not fit its " + size
                    + " bytes");
        }
        ByteBuffer stored = read(pack, indexOffset, Math.toIntExact(size - indexOffset - 12));
        CRC32C c = new CRC32C();
        c.update(stored.duplicate());
        if ((int) c.getValue() != crc) {
            throw bad(file, "index checksum mismatch");
        }
        ByteBuffer index;
        try {
            index = ByteBuffer.wrap(codec.open(indexLabel(pack.name()), Arrays.copyOfRange(stored.array(), 0,
                    stored.limit() - 12)));
        } catch (AuthenticationFailedException e) {
            throw bad(file, "index: " + e.getMessage());
        }
        return entries(index, count, indexOffset, file);
    }

    /** The index records of the entries, in their order. */
    static byte[] records(List<Entry> entries) {
        ByteBuffer records = ByteBuffer.allocate(entries.size() * RECORD);
        for (Entry e : entries) {
            putRecord(records, e);
        }
        return records.array();
    }

    /** Reads and checks the next count index records ({@link #record}). */
    static List<Entry> entries(ByteBuffer index, int count, long entriesEnd, String file) throws RepositoryException {
        List<Entry> entries = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            entries.add(record(index, i, entriesEnd, file));
        }
        return entries;
    }

    /** Writes an entry's index record (also what a persistent index holds of it). */
    private static void putRecord(ByteBuffer b, Entry e) {
        b.put((byte) e.type().code);
        e.hash().write(b);
        b.putLong(e.offset()).putInt(e.length()).putInt(e.rawLength());
    }

    /** Reads and checks entry i's index record: entries lie between the header and entriesEnd. */
    private static Entry record(ByteBuffer index, int i, long entriesEnd, String file) throws RepositoryException {
        int code = index.get();
        Hash h = Hash.read(index);
        long offset = index.getLong();
        int length = index.getInt();
        int raw = index.getInt();
        if (code != EntryType.CHUNK.code && code != EntryType.MANIFEST.code) {
            throw bad(file, "entry " + i + " has an unknown type " + code);
        }
        if (offset < HEADER || length <= 0 || raw < 0 || offset + length > entriesEnd) {
            throw bad(file, "entry " + i + " (" + length + " bytes at " + offset + ") lies outside the entries");
        }
        return new Entry(EntryType.of(code), h, offset, length, raw);
    }

    /** The frame of an entry. */
    static byte[] readFrame(Source pack, long offset, int length) throws IOException {
        return read(pack, offset, length).array();
    }

    /** The same into dst[0, length), which must have room for it. */
    static void readFrame(Source pack, long offset, int length, byte[] dst) throws IOException {
        checkWhole(pack, offset, length, pack.read(offset, length, dst));
    }

    private static ByteBuffer read(Source pack, long offset, int length) throws IOException {
        byte[] b = pack.read(offset, length);
        checkWhole(pack, offset, length, b.length);
        return ByteBuffer.wrap(b);
    }

    /** A read that came back shorter than asked: the pack ends before what its index says. */
    private static void checkWhole(Source pack, long offset, int length, int got) throws RepositoryException {
        if (got != length) {
            throw bad(pack.shown(), "cut short: no " + length + " bytes at " + offset);
        }
    }

    private static RepositoryException bad(String file, String what) {
        return new RepositoryException("pack " + file + ": " + what);
    }
}
