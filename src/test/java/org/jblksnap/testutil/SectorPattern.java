package org.jblksnap.testutil;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * A 512-byte sector that proves where it came from: a magic, its own sector number, the
 * writer that wrote it, a sequence number, filler derived from those, and a CRC32C of the
 * rest. A sector read back either decodes to exactly one (sector, writer, sequence) or is
 * reported as garbage, torn, or misplaced.
 *
 * <p>Layout (little endian): 0 magic, 8 sector, 16 writer, 20 sequence (8 bytes),
 * 28..507 filler, 508 CRC32C of bytes 0..507.
 */
public final class SectorPattern {
    public static final int SECTOR = 512;
    public static final long MAGIC = 0x5443455350534c4aL; // the ASCII bytes "JLSPSECT" in little-endian order
    private static final int CRC_AT = SECTOR - 4;

    /** A decoded sector. */
    public record Stamp(long sector, int writer, long sequence) {
    }

    private SectorPattern() {
    }

    /** Fills count sectors of dst, starting at its position, as written by writer with sequence. */
    public static void fill(ByteBuffer dst, long firstSector, int count, int writer, long sequence) {
        ByteBuffer b = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int base = dst.position();
        CRC32C crc = new CRC32C();
        for (int i = 0; i < count; i++) {
            int at = base + i * SECTOR;
            long sector = firstSector + i;
            b.putLong(at, MAGIC);
            b.putLong(at + 8, sector);
            b.putInt(at + 16, writer);
            b.putLong(at + 20, sequence);
            long x = sector * 0x9E3779B97F4A7C15L ^ sequence * 0xC2B2AE3D27D4EB4FL ^ writer;
            for (int o = 28; o < CRC_AT; o += 4) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                b.putInt(at + o, (int) x);
            }
            crc.reset();
            ByteBuffer slice = b.slice(at, CRC_AT);
            crc.update(slice);
            b.putInt(at + CRC_AT, (int) crc.getValue());
        }
    }

    /** A new heap buffer of count sectors filled as {@link #fill} does. */
    public static ByteBuffer sectors(long firstSector, int count, int writer, long sequence) {
        ByteBuffer b = ByteBuffer.allocate(count * SECTOR);
        fill(b, firstSector, count, writer, sequence);
        return b;
    }

    /**
     * Decodes the sector at index i of buf (absolute, from position 0) that was read from
     * device sector expectedSector. Throws AssertionError naming what is wrong.
     */
    public static Stamp decode(ByteBuffer buf, int i, long expectedSector) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int at = i * SECTOR;
        if (b.getLong(at) != MAGIC) {
            throw new AssertionError("sector " + expectedSector + ": no pattern magic (garbage or zeroes)");
        }
        CRC32C crc = new CRC32C();
        crc.update(b.slice(at, CRC_AT));
        if ((int) crc.getValue() != b.getInt(at + CRC_AT)) {
            throw new AssertionError("sector " + expectedSector + ": checksum mismatch (torn or corrupted sector)");
        }
        long sector = b.getLong(at + 8);
        if (sector != expectedSector) {
            throw new AssertionError("sector " + expectedSector + " holds the data of sector " + sector + " (misplaced)");
        }
        return new Stamp(sector, b.getInt(at + 16), b.getLong(at + 20));
    }

    /**
     * True when the sector at index i has the magic and its own number but a wrong checksum:
     * a mix of two versions of that sector (both start with the same magic and number), which
     * is what a read that overlaps a write of the sector may return.
     */
    public static boolean torn(ByteBuffer buf, int i, long expectedSector) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int at = i * SECTOR;
        CRC32C crc = new CRC32C();
        crc.update(b.slice(at, CRC_AT));
        return b.getLong(at) == MAGIC && b.getLong(at + 8) == expectedSector && (int) crc.getValue() != b.getInt(at + CRC_AT);
    }

    /** Decodes and checks that the sector carries exactly this writer and sequence. */
    public static void expect(ByteBuffer buf, int i, long sector, int writer, long sequence) {
        Stamp s = decode(buf, i, sector);
        if (s.writer() != writer || s.sequence() != sequence) {
            throw new AssertionError("sector " + sector + " is from writer " + s.writer() + " seq " + s.sequence()
                    + ", expected writer " + writer + " seq " + sequence);
        }
    }
}
