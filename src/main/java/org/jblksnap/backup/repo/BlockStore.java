package org.jblksnap.backup.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;

/**
 * Content-addressed block files: {@code blocks/XX/HASH}, where HASH is the SHA-256 of the
 * block's content in hex and XX its first two digits; the file is one zstd frame (with the
 * content size in its header) of that content. A block is written once (temporary file,
 * fsync, rename) and never changed; {@link #sync()} makes the new names durable before a
 * point that uses them is committed.
 */
public final class BlockStore {
    private final Path root;
    private final int maxBlockSize;
    private final int level;
    private final Set<Path> unsyncedDirs = ConcurrentHashMap.newKeySet();
    private final Set<Hash> storing = ConcurrentHashMap.newKeySet();
    private final ThreadLocal<byte[]> compressBuffer;

    BlockStore(Path root, int maxBlockSize, int level) {
        this.root = root;
        this.maxBlockSize = maxBlockSize;
        this.level = level;
        this.compressBuffer = ThreadLocal.withInitial(() -> new byte[(int) Zstd.compressBound(maxBlockSize)]);
    }

    public Path path(Hash h) {
        String hex = h.hex();
        return root.resolve(hex.substring(0, 2)).resolve(hex);
    }

    public boolean contains(Hash h) {
        return Files.exists(path(h));
    }

    /**
     * Stores data[0, length) under its hash unless a block of that hash is there already (or
     * being stored by another thread). Returns the compressed bytes written, 0 if none.
     */
    public long put(Hash h, byte[] data, int length) throws IOException {
        Path target = path(h);
        Path dir = target.getParent();
        if (Files.exists(target) || !storing.add(h)) {
            // the name may come from a run that died before syncing it: sync it anyway
            unsynced(dir);
            return 0;
        }
        try {
            byte[] out = compressBuffer.get();
            long n = Zstd.compressByteArray(out, 0, out.length, data, 0, length, level);
            if (Zstd.isError(n)) {
                throw new IOException("zstd compression failed: " + Zstd.getErrorName(n));
            }
            Files.createDirectories(dir);
            AtomicFiles.replace(target, ByteBuffer.wrap(out, 0, (int) n));
            unsynced(dir);
            return n;
        } finally {
            storing.remove(h);
        }
    }

    private void unsynced(Path dir) {
        unsyncedDirs.add(dir);
        unsyncedDirs.add(root);
    }

    /** The block's content, checked against its hash. */
    public byte[] get(Hash h) throws IOException {
        byte[] packed;
        try {
            packed = Files.readAllBytes(path(h));
        } catch (NoSuchFileException e) {
            throw new BadBlockException(h, true, "missing");
        }
        byte[] data;
        try {
            long size = Zstd.getFrameContentSize(packed);
            if (size < 0 || size > maxBlockSize) {
                throw new BadBlockException(h, false, "not a zstd frame of at most " + maxBlockSize + " bytes");
            }
            data = new byte[(int) size];
            long n = Zstd.decompressByteArray(data, 0, data.length, packed, 0, packed.length);
            if (n != size) {
                throw new BadBlockException(h, false, "decompresses to " + n + " bytes instead of " + size);
            }
        } catch (ZstdException e) {
            throw new BadBlockException(h, false, "cannot be decompressed (" + e.getMessage() + ")");
        }
        if (!Hash.of(data, 0, data.length).equals(h)) {
            throw new BadBlockException(h, false, "content does not match its hash");
        }
        return data;
    }

    /** The block's content, checked against its hash and the length its place needs. */
    public byte[] get(Hash h, int expectedLength) throws IOException {
        byte[] data = get(h);
        if (data.length != expectedLength) {
            throw new BadBlockException(h, false, "is " + data.length + " bytes where " + expectedLength + " are needed");
        }
        return data;
    }

    /** The compressed size on disk. */
    public long storedSize(Hash h) throws IOException {
        return Files.size(path(h));
    }

    public void delete(Hash h) throws IOException {
        Path p = path(h);
        if (Files.deleteIfExists(p)) {
            unsyncedDirs.add(p.getParent());
        }
    }

    /** Every stored block (temporary files and foreign names are skipped). */
    public void forEach(Consumer<Hash> action) throws IOException {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : (Iterable<Path>) dirs.filter(Files::isDirectory).sorted()::iterator) {
                try (Stream<Path> files = Files.list(d)) {
                    files.map(p -> p.getFileName().toString()).filter(BlockStore::isHashName).sorted()
                            .forEach(name -> action.accept(Hash.parse(name)));
                }
            }
        }
    }

    private static boolean isHashName(String name) {
        return name.length() == 2 * Hash.BYTES && name.chars().allMatch(c -> Character.digit(c, 16) >= 0
                && !Character.isUpperCase(c));
    }

    /** fsyncs every directory that got, lost or was asked for a name since the last call. */
    public void sync() throws IOException {
        Path[] dirs = unsyncedDirs.toArray(Path[]::new);
        Arrays.sort(dirs, (x, y) -> y.getNameCount() - x.getNameCount());
        for (Path d : dirs) {
            AtomicFiles.syncDirectory(d);
            unsyncedDirs.remove(d);
        }
    }
}
