package org.jblksnap.testutil;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

import org.jblksnap.device.BlockIo;
import org.jblksnap.params.Params;

/** Device files and whole-device reads for engine tests. */
public final class TestDevices {
    /** The writer id of the pattern a fresh device file carries. */
    public static final int INITIAL_WRITER = 0;

    private TestDevices() {
    }

    /** Defaults with the given overrides, after the module's fix-ups. */
    public static Params params(Map<String, String> overrides) {
        return Params.defaults().with(overrides).corrected().params();
    }

    /** A new file of size bytes whose sector i carries the pattern (i, writer 0, sequence 0). */
    public static Path patternFile(Path dir, String name, long size) throws IOException {
        Path file = dir.resolve(name);
        int step = 1 << 20;
        ByteBuffer buf = ByteBuffer.allocate(step);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long at = 0; at < size; at += step) {
                int n = (int) Math.min(step, size - at);
                buf.clear().limit(n);
                SectorPattern.fill(buf, at / SectorPattern.SECTOR, n / SectorPattern.SECTOR, INITIAL_WRITER, 0);
                long pos = at;
                while (buf.hasRemaining()) {
                    pos += ch.write(buf, pos);
                }
            }
        }
        return file;
    }

    /** A new sparse file of size bytes (reads as zeroes). */
    public static Path sparseFile(Path dir, String name, long size) throws IOException {
        Path file = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
        }
        return file;
    }

    /** Reads the whole of io. */
    public static byte[] readAll(BlockIo io) throws IOException {
        byte[] all = new byte[Math.toIntExact(io.capacity())];
        read(io, 0, all.length, all);
        return all;
    }

    /** Reads length bytes at offset of io into dst at the same offset. */
    public static void read(BlockIo io, long offset, int length, byte[] dst) throws IOException {
        io.read(offset, ByteBuffer.wrap(dst, (int) offset, length).slice());
    }

    /** Writes count pattern sectors from firstSector, stamped (writer, sequence). */
    public static void writePattern(BlockIo io, long firstSector, int count, int writer, long sequence)
            throws IOException {
        io.write(firstSector * SectorPattern.SECTOR, SectorPattern.sectors(firstSector, count, writer, sequence));
    }

    /** Checks every sector of data is stamped as the model says: model[i] packs writer and sequence. */
    public static void expectModel(byte[] data, long[] model) {
        ByteBuffer b = ByteBuffer.wrap(data);
        for (int i = 0; i < model.length; i++) {
            SectorPattern.expect(b, i, i, writerOf(model[i]), sequenceOf(model[i]));
        }
    }

    /** A model entry: writer in the top 16 bits, sequence below. */
    public static long stamp(int writer, long sequence) {
        return ((long) writer << 48) | sequence;
    }

    public static int writerOf(long stamp) {
        return (int) (stamp >>> 48);
    }

    public static long sequenceOf(long stamp) {
        return stamp & ((1L << 48) - 1);
    }
}
