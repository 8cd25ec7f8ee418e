package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

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
    static final int VERSION = 2;
    private static final byte[] MAGIC = "JBSPACK\0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "JBSPKEND".getBytes(StandardCharsets.US_ASCII);

    /** One entry of a pack's index. */
    record Entry(EntryType type, Hash hash, long offset, int length, int rawLength) {
    }

    private PackFile() {
    }

    static ByteBuffer header() {
        return FileHeader.put(ByteBuffer.allocate(HEADER), MAGIC, VERSION).flip();
    }

    /** The index and footer of a pack whose entries end where the index starts. */
    static ByteBuffer trailer(long indexOffset, List<Entry> entries) {
        ByteBuffer b = ByteBuffer.allocate(entries.size() * RECORD + FOOTER);
        for (Entry e : entries) {
            b.put((byte) e.type().code);
            e.hash().write(b);
            b.putLong(e.offset()).putInt(e.length()).putInt(e.rawLength());
        }
        b.putLong(indexOffset).putInt(entries.size());
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue()).put(END);
        return b.flip();
    }

    /** Reads and checks a pack's index. Every problem is a RepositoryException naming the file. */
    static List<Entry> readIndex(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readIndex(ch, file);
        }
    }

    static List<Entry> readIndex(FileChannel ch, Path file) throws IOException {
        long size = ch.size();
        if (size < HEADER + FOOTER) {
            throw bad(file, "cut short: " + size + " bytes, less than a header and a footer");
        }
        FileHeader.check(read(ch, 0, HEADER, file), MAGIC, VERSION, "pack " + file, "pack file");
        ByteBuffer foot = read(ch, size - FOOTER, FOOTER, file);
        long indexOffset = foot.getLong();
        int count = foot.getInt();
        int crc = foot.getInt();
        byte[] end = new byte[END.length];
        foot.get(end);
        if (!Arrays.equals(end, END)) {
            throw bad(file, "cut short or unfinished: no footer at its end");
        }
        if (count < 0 || indexOffset < HEADER || indexOffset + (long) count * RECORD + FOOTER != size) {
            throw bad(file, "footer (index at " + indexOffset + ", " + count + " entries) does not fit its " + size
                    + " bytes");
        }
        ByteBuffer index = read(ch, indexOffset, Math.toIntExact(size - indexOffset - 12), file);
        CRC32C c = new CRC32C();
        c.update(index.duplicate());
        if ((int) c.getValue() != crc) {
            throw bad(file, "index checksum mismatch");
        }
        List<Entry> entries = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int code = index.get();
            Hash h = Hash.read(index);
            long offset = index.getLong();
            int length = index.getInt();
            int raw = index.getInt();
            if (code != EntryType.CHUNK.code && code != EntryType.MANIFEST.code) {
                throw bad(file, "entry " + i + " has an unknown type " + code);
            }
            if (offset < HEADER || length <= 0 || raw < 0 || offset + length > indexOffset) {
                throw bad(file, "entry " + i + " (" + length + " bytes at " + offset + ") lies outside the entries");
            }
            entries.add(new Entry(EntryType.of(code), h, offset, length, raw));
        }
        return entries;
    }

    /** The frame of an entry, read from an open pack. */
    static byte[] readFrame(FileChannel ch, long offset, int length, Path file) throws IOException {
        return read(ch, offset, length, file).array();
    }

    private static ByteBuffer read(FileChannel ch, long offset, int length, Path file) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            if (ch.read(b, offset + b.position()) < 0) {
                throw bad(file, "cut short: no " + length + " bytes at " + offset);
            }
        }
        return b.flip();
    }

    private static RepositoryException bad(Path file, String what) {
        return new RepositoryException("pack " + file + ": " + what);
    }
}
