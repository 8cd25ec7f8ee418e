package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.jblksnap.device.BlockIo;
import org.jblksnap.params.Params;

/**
 * Byte-granular reads and writes on a {@link BlockIo}, which only takes whole sectors. A FUSE
 * request may start or end inside a sector: a read fetches the edge sectors into a scratch
 * buffer and copies the wanted bytes; a write merges its bytes into the edge sectors
 * (read-modify-write) under an exclusive range lock, and sends the aligned middle straight
 * from the request buffer. Requests are clipped at the capacity (short read, short write).
 */
final class ByteRangeIo {
    private static final int SECTOR = Params.SECTOR_SIZE;
    private static final long SECTOR_MASK = SECTOR - 1;
    // FUSE worker threads live as long as the mount, so one sector buffer each is enough.
    private static final ThreadLocal<ByteBuffer> SCRATCH = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(SECTOR));

    private final BlockIo io;
    private final RangeLocks locks = new RangeLocks();

    ByteRangeIo(BlockIo io) {
        this.io = io;
    }

    BlockIo io() {
        return io;
    }

    /**
     * Reads up to dst.remaining() bytes at offset into dst (advancing its position); returns
     * the count, which is short at the end of the export and 0 past it.
     */
    int read(long offset, ByteBuffer dst) throws IOException {
        checkOffset(offset);
        int n = clip(offset, dst.remaining());
        if (n <= 0) {
            return 0;
        }
        ByteBuffer part = dst.slice(dst.position(), n);
        long end = offset + n;
        long pos = offset;
        if ((pos & SECTOR_MASK) != 0) {
            pos = readPartial(pos, end, part);
        }
        long alignedEnd = end & ~SECTOR_MASK;
        if (pos < alignedEnd) {
            io.read(pos, part.slice(part.position(), (int) (alignedEnd - pos)));
            part.position(part.position() + (int) (alignedEnd - pos));
            pos = alignedEnd;
        }
        if (pos < end) {
            readPartial(pos, end, part);
        }
        dst.position(dst.position() + n);
        return n;
    }

    /**
     * Writes up to src.remaining() bytes at offset from src (advancing its position); returns
     * the count, short at the end of the export and 0 when offset is at or past it.
     */
    int write(long offset, ByteBuffer src) throws IOException {
        checkOffset(offset);
        int n = clip(offset, src.remaining());
        if (n <= 0) {
            return 0;
        }
        ByteBuffer part = src.slice(src.position(), n);
        long end = offset + n;
        if (((offset | end) & SECTOR_MASK) == 0) {
            locks.lock(offset, end, false);
            try {
                io.write(offset, part);
            } finally {
                locks.unlock(offset, end, false);
            }
        } else {
            long from = offset & ~SECTOR_MASK;
            long to = (end + SECTOR_MASK) & ~SECTOR_MASK;
            locks.lock(from, to, true);
            try {
                writeUnaligned(offset, end, part);
            } finally {
                locks.unlock(from, to, true);
            }
        }
        src.position(src.position() + n);
        return n;
    }

    /** Called with [offset, end) rounded out to sectors locked exclusively. */
    private void writeUnaligned(long offset, long end, ByteBuffer part) throws IOException {
        long pos = offset;
        if ((pos & SECTOR_MASK) != 0) {
            pos = mergeSector(pos, end, part);
        }
        long alignedEnd = end & ~SECTOR_MASK;
        if (pos < alignedEnd) {
            io.write(pos, part.slice(part.position(), (int) (alignedEnd - pos)));
            part.position(part.position() + (int) (alignedEnd - pos));
            pos = alignedEnd;
        }
        if (pos < end) {
            mergeSector(pos, end, part);
        }
    }

    /** Copies the bytes [pos, min(end, sector end)) of pos's sector into dst; returns the new pos. */
    private long readPartial(long pos, long end, ByteBuffer dst) throws IOException {
        long sector = pos & ~SECTOR_MASK;
        int from = (int) (pos - sector);
        int to = (int) (Math.min(end, sector + SECTOR) - sector);
        ByteBuffer s = readSector(sector);
        dst.put(s.slice(from, to - from));
        return sector + to;
    }

    /** Puts the bytes for [pos, min(end, sector end)) from src into pos's sector; returns the new pos. */
    private long mergeSector(long pos, long end, ByteBuffer src) throws IOException {
        long sector = pos & ~SECTOR_MASK;
        int from = (int) (pos - sector);
        int to = (int) (Math.min(end, sector + SECTOR) - sector);
        ByteBuffer s = readSector(sector);
        s.put(from, src, src.position(), to - from);
        src.position(src.position() + (to - from));
        io.write(sector, s.clear());
        return sector + to;
    }

    private ByteBuffer readSector(long sector) throws IOException {
        ByteBuffer s = SCRATCH.get().clear();
        io.read(sector, s);
        return s.clear();
    }

    private int clip(long offset, int length) {
        long capacity = io.capacity();
        return offset >= capacity ? 0 : (int) Math.min(length, capacity - offset);
    }

    private static void checkOffset(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
    }
}
