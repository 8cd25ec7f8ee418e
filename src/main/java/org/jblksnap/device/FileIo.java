package org.jblksnap.device;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

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

    public static void writeFully(FileChannel ch, long offset, ByteBuffer src) throws IOException {
        long pos = offset;
        while (src.hasRemaining()) {
            pos += ch.write(src, pos);
        }
    }
}
