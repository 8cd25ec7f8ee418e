package org.jblksnap.backup.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A backup repository on disk:
 *
 * <pre>
 * DIR/repository.json   format, version, block size, hash, compression ({@link RepositoryConfig})
 * DIR/lock              advisory lock file ({@link RepoLock})
 * DIR/blocks/XX/HASH    block contents, zstd, by SHA-256 ({@link BlockStore})
 * DIR/points/ID.point   points: metadata and index ({@link PointFile}, {@link PointStore})
 * DIR/**&#47;.tmp-*          leftovers of interrupted writes: ignored, removed when alone
 * </pre>
 *
 * Every point is a whole image by reference: its index names a block for every block of
 * the device. A point exists once its file is committed, after every block it uses.
 */
public final class Repository implements AutoCloseable {
    public static final int DEFAULT_BLOCK_SIZE = 4 << 20;
    private static final String CONFIG = "repository.json";

    private final RepositoryConfig config;
    private final RepoLock lock;
    private final BlockStore blocks;
    private final PointStore points;
    private final int removedTemporaries;
    private final boolean exclusive;

    private Repository(Path dir, RepositoryConfig config, RepoLock lock, int removedTemporaries, boolean exclusive) {
        this.exclusive = exclusive;
        this.config = config;
        this.lock = lock;
        this.removedTemporaries = removedTemporaries;
        this.blocks = new BlockStore(dir.resolve("blocks"), config.blockSize(), config.zstdLevel());
        this.points = new PointStore(dir.resolve("points"));
    }

    /** Makes a new repository in dir (absent or empty). */
    public static void create(Path dir, int blockSize) throws IOException {
        RepositoryConfig config = RepositoryConfig.of(blockSize);
        Files.createDirectories(dir);
        try (Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isPresent()) {
                throw new RepositoryException("cannot create a repository in " + dir + ": it is not empty");
            }
        }
        Files.createDirectory(dir.resolve("blocks"));
        Files.createDirectory(dir.resolve("points"));
        AtomicFiles.replace(dir.resolve(CONFIG), ByteBuffer.wrap(Json.MAPPER.writeValueAsBytes(config)));
        AtomicFiles.syncDirectory(dir);
    }

    /** Opens a repository; shared access for backups, restores and checks, exclusive to prune. */
    public static Repository open(Path dir, boolean exclusive) throws IOException {
        RepositoryConfig config;
        try {
            config = Json.MAPPER.readValue(Files.readAllBytes(dir.resolve(CONFIG)), RepositoryConfig.class);
            config.check();
        } catch (NoSuchFileException e) {
            throw new RepositoryException(dir + " is not a backup repository (no " + CONFIG + ")");
        } catch (IOException | IllegalArgumentException e) {
            throw new RepositoryException(dir.resolve(CONFIG) + ": " + e.getMessage(), e);
        }
        int[] removed = {0};
        RepoLock lock = RepoLock.acquire(dir.resolve("lock"), exclusive,
                () -> removed[0] = AtomicFiles.removeTemporaries(dir));
        if (exclusive) {
            try {
                removed[0] = AtomicFiles.removeTemporaries(dir);
            } catch (IOException | RuntimeException e) {
                lock.close();
                throw e;
            }
        }
        return new Repository(dir, config, lock, removed[0], exclusive);
    }

    /** Opens dir for a backup, creating the repository first when dir is absent or empty. */
    public static Repository openOrCreate(Path dir, int blockSize) throws IOException {
        if (!Files.exists(dir.resolve(CONFIG))) {
            create(dir, blockSize);
        }
        return open(dir, false);
    }

    public int blockSize() {
        return config.blockSize();
    }

    public BlockStore blocks() {
        return blocks;
    }

    public PointStore points() {
        return points;
    }

    /** Opened exclusively: nobody else uses the repository meanwhile. */
    public boolean exclusive() {
        return exclusive;
    }

    /** Temporary files of interrupted runs that opening removed. */
    public int removedTemporaries() {
        return removedTemporaries;
    }

    /** Makes the blocks durable, then commits the point; returns its id. */
    public long commit(PointMeta meta, PointIndex index) throws IOException {
        if (meta.blockSize() != blockSize()) {
            throw new IllegalArgumentException("point block size " + meta.blockSize() + " differs from the repository's "
                    + blockSize());
        }
        blocks.sync();
        return points.commit(meta, index);
    }

    @Override
    public void close() throws IOException {
        lock.close();
    }
}
