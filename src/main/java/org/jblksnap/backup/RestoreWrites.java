package org.jblksnap.backup;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.jblksnap.device.DirectIo;
import org.jblksnap.device.FileIo;

/**
 * A restore's writes to its target, around the page cache ({@code O_DIRECT}) where the target
 * allows it. Why: a restore writes each byte once and nobody reads it soon, and copying 1.4 GB
 * into page-cache pages was most of a 2 GiB restore's system time (BENCHMARKS.md, "A restore
 * written around the page cache"). A run of chunks starts on a chunk boundary, so it is aligned
 * but for the device's last bytes: each write copies its aligned part into an aligned buffer of
 * its thread (the JDK copies a heap array into a native buffer for any write anyway) and writes
 * it with O_DIRECT; the rest (a tail shorter than a block, at the end of the image) goes through
 * the cache, as everything does where O_DIRECT is refused. Durability is unchanged: {@link
 * Writeback} fdatasyncs the target as the restore goes and at its end.
 */
final class RestoreWrites implements AutoCloseable {
    private final FileChannel buffered;
    /** The target opened again with O_DIRECT; null to write through the cache. */
    private final FileChannel direct;
    private final int align;
    private final int bufferSize;
    private final Arena arena;
    private final ThreadLocal<MemorySegment> buffers;

    /** buffered: the target, open for writing at path; maxLength: the longest write to come. */
    RestoreWrites(FileChannel buffered, Path path, int maxLength) throws IOException {
        this.buffered = buffered;
        this.align = DirectIo.alignment(path);
        this.direct = align == 0 ? null : DirectIo.open(path, StandardOpenOption.WRITE);
        this.bufferSize = align == 0 ? 0 : (maxLength + align - 1) / align * align;
        this.arena = Arena.ofShared(); // after the open, which may throw: nothing to free then
        this.buffers = ThreadLocal.withInitial(() -> arena.allocate(bufferSize, DirectIo.MAX_ALIGNMENT));
    }

    /** Whether writes go around the page cache. */
    boolean isDirect() {
        return direct != null;
    }

    /** Writes buf[off, off + len) at pos. */
    void write(long pos, byte[] buf, int off, int len) throws IOException {
        int aligned = direct == null || pos % align != 0 ? 0 : Math.min(len, bufferSize) / align * align;
        if (aligned > 0) {
            MemorySegment segment = buffers.get();
            MemorySegment.copy(buf, off, segment, ValueLayout.JAVA_BYTE, 0, aligned);
            ByteBuffer b = segment.asByteBuffer().limit(aligned);
            while (b.hasRemaining() && b.position() % align == 0) {
                FileIo.write(direct, pos + b.position(), b);
            }
            aligned = b.position(); // a short direct write: the rest goes through the cache
        }
        if (len > aligned) {
            FileIo.writeFully(buffered, pos + aligned, ByteBuffer.wrap(buf, off + aligned, len - aligned));
        }
    }

    /** Closes the direct descriptor and frees the buffers: call once every write has returned. */
    @Override
    public void close() throws IOException {
        try {
            if (direct != null) {
                direct.close();
            }
        } finally {
            arena.close();
        }
    }
}
