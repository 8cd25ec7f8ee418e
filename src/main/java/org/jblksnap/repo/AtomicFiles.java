package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Durable, all-or-nothing files: the content goes to a temporary file next to the target
 * ({@value #TEMP_PREFIX}…), is fsynced, then renamed or linked into place. A crash leaves
 * either the old state or the new one, plus perhaps a temporary file that
 * {@link #removeTemporaries} deletes later and every reader ignores
 * ({@code docs/REPOSITORY.md#temporary-files}).
 */
public final class AtomicFiles {
    public static final String TEMP_PREFIX = ".tmp-";

    private AtomicFiles() {
    }

    public static boolean isTemporary(Path p) {
        return p.getFileName().toString().startsWith(TEMP_PREFIX);
    }

    /** Writes the buffers to a fresh fsynced temporary file in dir and returns its path. */
    public static Path writeTemporary(Path dir, ByteBuffer... parts) throws IOException {
        Path tmp = dir.resolve(TEMP_PREFIX + UUID.randomUUID());
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (ByteBuffer b : parts) {
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return tmp;
    }

    /** Replaces target with the content atomically (the directory is not synced). */
    public static void replace(Path target, ByteBuffer... parts) throws IOException {
        Path tmp = writeTemporary(target.getParent(), parts);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** fsync of a directory, so that names created or removed in it survive a crash. */
    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Deletes the temporary files left under root by interrupted writers; returns how many. */
    public static int removeTemporaries(Path root) throws IOException {
        int n = 0;
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all.filter(AtomicFiles::isTemporary)::iterator) {
                try {
                    Files.delete(p);
                    n++;
                } catch (NoSuchFileException e) {
                    // gone already
                }
            }
        }
        return n;
    }
}
