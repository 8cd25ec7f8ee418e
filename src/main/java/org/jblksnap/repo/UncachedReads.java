package org.jblksnap.repo;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;

import org.jblksnap.device.DirectIo;

/**
 * Packs read whole around the page cache ({@code O_DIRECT}), the way they are written
 * ({@link PackFileOutput}): a check (verify, copy) reads each pack once, so caching it would
 * only push the host's own data out, and on a virtual machine whose free memory the host takes
 * back, filling newly allocated cache pages costs more than the read (BENCHMARKS.md, "Packs
 * written around the page cache"). The range is read, a piece at a time, into an aligned native
 * buffer from the block before it to the block after it, and copied out. A file system that
 * refuses {@code O_DIRECT} is read the buffered way. (A restore reads a chunk at a time: those
 * small reads go through the cache, whose read-ahead makes them large requests to the disk.)
 */
final class UncachedReads {
    /** A read goes through a buffer of this size (a multiple of any alignment), a piece at a time. */
    private static final int PIECE = 4 << 20;
    /**
     * Buffers, one per read at a time, allocated as needed up to this many and then kept for
     * the process (32 MiB): memory touched once and reused, not allocated per read (new memory
     * costs a fault per page, and on a virtual machine the host's work to back it, which made
     * reads with a buffer each slower than through the cache). A read beyond this many at once
     * waits for one; a reader holds one only while its disk reads.
     */
    private static final int MAX_BUFFERS = 8;
    private static final Semaphore BUFFER_PERMITS = new Semaphore(MAX_BUFFERS);
    private static final Queue<MemorySegment> BUFFERS = new ConcurrentLinkedQueue<>();

    private UncachedReads() {
    }

    /**
     * length bytes of the file from offset, fewer when it ends before; null when its file system
     * refuses direct reads.
     */
    static byte[] read(Path path, long offset, int length) throws IOException {
        int align = DirectIo.alignment(path);
        FileChannel ch = align == 0 ? null : DirectIo.open(path, StandardOpenOption.READ);
        if (ch == null) {
            return null;
        }
        try (ch) {
            BUFFER_PERMITS.acquire();
            try {
                MemorySegment buffer = BUFFERS.poll();
                if (buffer == null) {
                    buffer = Arena.global().allocate(PIECE, DirectIo.MAX_ALIGNMENT);
                }
                try {
                    return read(ch, buffer, align, offset, length);
                } finally {
                    BUFFERS.add(buffer);
                }
            } finally {
                BUFFER_PERMITS.release();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading " + path);
        }
    }

    private static byte[] read(FileChannel ch, MemorySegment buffer, int align, long offset, int length) throws IOException {
        byte[] out = new byte[length];
        int got = 0;
        for (long at = offset / align * align; got < length;) {
            long skip = Math.max(0, offset - at);
            int want = (int) Math.min(PIECE, (offset + length - at + align - 1) / align * align);
            int n = readAligned(ch, buffer, align, at, want);
            int useful = (int) Math.max(0, Math.min(n - skip, length - got));
            MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, skip, out, got, useful);
            got += useful;
            at += n;
            if (n < want) {
                break; // the file ends
            }
        }
        return got == length ? out : Arrays.copyOf(out, got);
    }

    /** Reads want (aligned) bytes at the aligned offset into the buffer; fewer only at the end of the file. */
    private static int readAligned(FileChannel ch, MemorySegment buffer, int align, long offset, int want) throws IOException {
        ByteBuffer b = buffer.asByteBuffer().limit(want);
        while (b.hasRemaining()) {
            int n = ch.read(b, offset + b.position());
            if (n <= 0 || b.position() % align != 0) {
                break; // a short read ends at the end of the file
            }
        }
        return b.position();
    }
}
