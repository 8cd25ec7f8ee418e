package org.jblksnap.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.params.Params;

/**
 * The files the engine benchmarks write: a device file and a plain file of the same size and
 * kind, fully written once (so no benchmark pays for block allocation), kept between runs in
 * {@code -Djblksnap.bench.dir} (default /var/tmp/jblksnap-bench, a disk file system rather
 * than a tmpfs).
 */
final class BenchFiles {
    static final int IO_SIZE = 4096;
    /** Held so the level set below stays in force (loggers are weakly referenced). */
    private static final Logger ENGINE_LOG = Logger.getLogger("org.jblksnap");

    private BenchFiles() {
    }

    static Path dir() throws IOException {
        return Files.createDirectories(Path.of(System.getProperty("jblksnap.bench.dir", "/var/tmp/jblksnap-bench")));
    }

    /** A directory for difference storages (each a hidden, unlinked temporary file). */
    static Path storeDir() throws IOException {
        return Files.createDirectories(dir().resolve("store"));
    }

    /** The named file of sizeMib MiB, written with random bytes when it is missing or of another size. */
    static Path prepared(String name, int sizeMib) throws IOException {
        Path file = dir().resolve(name);
        long size = (long) sizeMib << 20;
        if (Files.isRegularFile(file) && Files.size(file) == size) {
            return file;
        }
        Path tmp = dir().resolve(name + ".new");
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        SplittableRandom random = new SplittableRandom(size);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            for (long at = 0; at < size; at += buf.capacity()) {
                buf.clear();
                while (buf.hasRemaining()) {
                    buf.putLong(random.nextLong());
                }
                buf.flip();
                while (buf.hasRemaining()) {
                    ch.write(buf, at + buf.position());
                }
            }
            ch.force(true);
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return file;
    }

    /** Engine parameters for the benchmarks: the defaults, with this chunk size. */
    static Params params(int chunkShift) {
        ENGINE_LOG.setLevel(Level.WARNING); // no log line per create/take/destroy
        return Params.defaults().with(Map.of("chunk_minimum_shift", String.valueOf(chunkShift))).corrected().params();
    }

    /** A direct buffer of one 4 KiB write, not all zeroes. */
    static ByteBuffer ioBuffer() {
        ByteBuffer b = ByteBuffer.allocateDirect(IO_SIZE);
        for (int i = 0; i < IO_SIZE; i++) {
            b.put(i, (byte) (i * 31 + 7));
        }
        return b;
    }
}
