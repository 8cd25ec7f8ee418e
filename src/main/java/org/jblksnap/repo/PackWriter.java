package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Writes one pack ({@link PackFile}) under its temporary name and gives it its final name at
 * {@link #finish}, after an fsync ({@code docs/REPOSITORY.md#pack-files}). The directory is
 * not synced here: the caller syncs it before anything that relies on the pack is committed
 * ({@link UnsyncedDirectories}). Not thread-safe.
 */
final class PackWriter {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path tmp;
    private final Path target;
    private final boolean newDirectory;
    private final FileChannel ch;
    private final List<PackFile.Entry> entries = new ArrayList<>();
    private long end;

    private PackWriter(Path tmp, Path target, boolean newDirectory, FileChannel ch) {
        this.tmp = tmp;
        this.target = target;
        this.newDirectory = newDirectory;
        this.ch = ch;
    }

    /** Starts a pack with a new random id under root ({@code packs/}). */
    static PackWriter create(Path root) throws IOException {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        String name = HexFormat.of().formatHex(id);
        Path dir = root.resolve(name.substring(0, 2));
        boolean newDirectory = !Files.isDirectory(dir);
        if (newDirectory) {
            Files.createDirectories(dir);
        }
        Path tmp = dir.resolve(AtomicFiles.TEMP_PREFIX + name + PackFile.SUFFIX);
        FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        PackWriter w = new PackWriter(tmp, dir.resolve(name + PackFile.SUFFIX), newDirectory, ch);
        try {
            w.write(PackFile.header());
        } catch (IOException | RuntimeException e) {
            w.abandon();
            throw e;
        }
        return w;
    }

    /** The name it has while written. */
    Path temporary() {
        return tmp;
    }

    /** Whether creating it made its directory {@code packs/XX} (so {@code packs/} needs a sync too). */
    boolean madeDirectory() {
        return newDirectory;
    }

    /** Bytes written so far. */
    long size() {
        return end;
    }

    /** Appends a frame; returns its offset. */
    long append(EntryType type, Hash hash, byte[] frame, int length, int rawLength) throws IOException {
        long offset = end;
        write(ByteBuffer.wrap(frame, 0, length));
        entries.add(new PackFile.Entry(type, hash, offset, length, rawLength));
        return offset;
    }

    /** Writes the index and footer, fsyncs, and renames the pack to its final name; returns it. */
    Path finish() throws IOException {
        try {
            write(PackFile.trailer(end, entries));
            ch.force(true);
            ch.close();
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException | RuntimeException e) {
            abandon();
            throw e;
        }
    }

    /** Closes and deletes the unfinished pack. */
    void abandon() throws IOException {
        try {
            ch.close();
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            end += ch.write(b, end);
        }
    }
}
