package org.jblksnap.device;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;

/** Whole-buffer positional reads and writes: a FileChannel may do less than asked at once. */
public final class FileIo {
    private FileIo() {
    }

    /** Fills dst from offset; an end of file before that is an error, never zeroes. */
    public static void readFully(FileChannel ch, long offset, ByteBuffer dst, Path path) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new IOException(path + ": end of file at " + pos + " is before the expected size"
                        + " (the backing file shrank?)");
            }
            pos += n;
        }
    }

    /**
     * Writes all of src at offset. A full file system or quota is ENOSPC ({@link #write}).
     */
    public static void writeFully(FileChannel ch, long offset, ByteBuffer src) throws IOException {
        long pos = offset;
        while (src.hasRemaining()) {
            pos += write(ch, pos, src);
        }
    }

    /**
     * One write of src at offset; returns the bytes written, which may be fewer than asked. A
     * full file system or quota is ENOSPC: the JDK gives only the kernel's message for it, so
     * this is the one place that reads it.
     */
    public static int write(FileChannel ch, long offset, ByteBuffer src) throws IOException {
        try {
            return ch.write(src, offset);
        } catch (ClosedChannelException e) {
            throw e;
        } catch (IOException e) {
            String m = e.getMessage();
            if (m != null && (m.contains("No space left") || m.contains("Disk quota"))) {
                throw new EngineIOException(Errno.ENOSPC, m, e);
            }
            throw e;
        }
    }
}
