package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An Error in a pack's background write (an OutOfMemoryError, which the daemon survives) is not
 * lost: the writer thread records any Throwable, and the next call fails. Uncaught, it ended the
 * writer thread with nothing recorded; force() then succeeded over a file whose first MiB was
 * never written, and the pack would have been renamed and a point committed on it.
 */
@Timeout(60)
class PackFileOutputWriterErrorTest {
    @TempDir
    Path dir;

    @Test
    void anErrorInTheBackgroundWriteIsNotLost() throws Exception {
        Path path = dir.resolve("p.pack");
        byte[] data = new byte[2 * PackFileOutput.STAGE + 100];
        new SplittableRandom(5).nextBytes(data);
        try (PackFileOutput out = PackFileOutput.create(path)) {
            assumeTrue(out.isDirect(), "the file system of " + dir + " refuses O_DIRECT");
            Field f = PackFileOutput.class.getDeclaredField("direct");
            f.setAccessible(true);
            FileChannel real = (FileChannel) f.get(out);
            AtomicBoolean thrown = new AtomicBoolean();
            f.set(out, new ErrorOnce(real, thrown));

            Throwable reported = null;
            try {
                out.write(ByteBuffer.wrap(data));
                out.force();
            } catch (Throwable t) {
                reported = t;
            }
            if (reported == null) {
                byte[] file = Files.readAllBytes(path);
                int zeros = 0;
                while (zeros < file.length && file[zeros] == 0) {
                    zeros++;
                }
                fail("an Error in the background write (thrown: " + thrown.get() + ") was not reported: force()"
                        + " succeeded; the file is " + file.length + " bytes, its first " + zeros
                        + " bytes are zeros, equal to what was written: " + java.util.Arrays.equals(data, file)
                        + "; read(0, 16) gives " + java.util.Arrays.toString(out.read(0, 16)));
            }
        }
    }

    /** The real channel, whose first positional write throws an Error. */
    private static final class ErrorOnce extends FileChannel {
        private final FileChannel real;
        private final AtomicBoolean thrown;

        ErrorOnce(FileChannel real, AtomicBoolean thrown) {
            this.real = real;
            this.thrown = thrown;
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            if (thrown.compareAndSet(false, true)) {
                throw new OutOfMemoryError("Java heap space (thrown by the test)");
            }
            return real.write(src, position);
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return real.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return real.read(dsts, offset, length);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return real.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            return real.write(srcs, offset, length);
        }

        @Override
        public long position() throws IOException {
            return real.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            real.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return real.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            real.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            real.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return real.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            return real.transferFrom(src, position, count);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return real.read(dst, position);
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return real.map(mode, position, size);
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return real.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return real.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            real.close();
        }
    }
}
