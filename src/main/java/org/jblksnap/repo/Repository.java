package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.jblksnap.error.IoMessages;
import org.jblksnap.repo.crypto.DirectoryKeyStore;

import com.fasterxml.jackson.core.JsonProcessingException;

/**
 * A backup repository on disk, opened: its settings ({@link RepositoryConfig}), its lock
 * ({@link RepoLock}), its packs ({@link PackStore}) and its points ({@link PointStore}).
 * Layout and formats: {@code docs/REPOSITORY.md#layout}.
 *
 * Every point is a whole image by reference: its index names, for every 4 MiB block of the
 * device, a manifest, which names the content of each of the block's chunks. A point exists
 * once its file is committed, after every pack it uses is durable ({@link #commit}).
 */
public final class Repository implements AutoCloseable {
    private static final String CONFIG = "repository.json";

    private final RepositoryConfig config;
    private final RepoLock lock;
    private final PackStore packs;
    private final PointStore points;
    private final int removedTemporaries;
    private final boolean exclusive;

    private Repository(Path dir, RepositoryConfig config, RepoLock lock, int removedTemporaries, boolean exclusive) {
        this.exclusive = exclusive;
        this.config = config;
        this.lock = lock;
        this.removedTemporaries = removedTemporaries;
        this.packs = new PackStore(dir.resolve("packs"), config);
        this.points = new PointStore(dir.resolve("points"));
    }

    /** Makes a new repository in dir (absent or empty). */
    public static void create(Path dir, RepositoryConfig config) throws IOException {
        config.check();
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new RepositoryException("cannot create a repository in " + dir + ": it is not a directory");
        }
        try {
            Files.createDirectories(dir);
            try (Stream<Path> s = Files.list(dir)) {
                if (s.findAny().isPresent()) {
                    throw new RepositoryException("cannot create a repository in " + dir + ": it is not empty");
                }
            }
            Files.createDirectory(dir.resolve("packs"));
            Files.createDirectory(dir.resolve("points"));
            AtomicFiles.replace(dir.resolve(CONFIG), ByteBuffer.wrap(Json.MAPPER.writeValueAsBytes(config)));
            AtomicFiles.syncDirectory(dir);
        } catch (FileSystemException e) {
            throw new RepositoryException("cannot create a repository in " + dir + ": "
                    + (dir.toString().equals(e.getFile()) ? "" : e.getFile() + ": ") + IoMessages.reason(e), e);
        }
    }

    /** Opens a repository; shared access for backups, restores and checks, exclusive to prune. */
    public static Repository open(Path dir, boolean exclusive) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new RepositoryException(dir + " is not a backup repository ("
                    + (Files.exists(dir) ? "not a directory" : "no such directory") + ")");
        }
        RepositoryConfig config;
        try {
            config = Json.MAPPER.readValue(Files.readAllBytes(dir.resolve(CONFIG)), RepositoryConfig.class);
            config.check();
        } catch (NoSuchFileException e) {
            throw new RepositoryException(dir + " is not a backup repository (no " + CONFIG + ")");
        } catch (JsonProcessingException e) {
            throw new RepositoryException(dir.resolve(CONFIG) + " is not valid: " + e.getOriginalMessage(), e);
        } catch (IOException | IllegalArgumentException e) {
            throw new RepositoryException(dir.resolve(CONFIG) + ": "
                    + (e instanceof IOException io ? IoMessages.reason(io) : e.getMessage()), e);
        }
        if (!DirectoryKeyStore.ofRepository(dir).names().isEmpty()) {
            // Until pack entries, indexes and points are sealed (docs/REPOSITORY.md, "Encryption"),
            // reading or writing plain data in a repository made encrypted would break its promise.
            throw new RepositoryException("repository " + dir + " is encrypted (it has keys), and this jblksnap "
                    + "does not yet seal or open its backups: back up into a repository made with "
                    + "`jblksnap init --encryption none`");
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

    /**
     * Opens dir for a backup, creating the repository first (with config) when dir is absent
     * or empty; an existing repository keeps its own settings.
     */
    public static Repository openOrCreate(Path dir, RepositoryConfig config) throws IOException {
        if (!Files.exists(dir.resolve(CONFIG))) {
            create(dir, config);
        }
        return open(dir, false);
    }

    public int blockSize() {
        return config.blockSize();
    }

    public int chunkSize() {
        return config.chunkSize();
    }

    public PackStore packs() {
        return packs;
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

    /**
     * Makes what the point uses durable (the open pack closed, directories synced), then
     * commits the point; returns its id.
     */
    public long commit(PointMeta meta, HashList index) throws IOException {
        if (meta.blockSize() != blockSize() || meta.chunkSize() != chunkSize()) {
            throw new IllegalArgumentException("point block and chunk sizes " + meta.blockSize() + ", "
                    + meta.chunkSize() + " differ from the repository's " + blockSize() + ", " + chunkSize());
        }
        packs.flush();
        return points.commit(meta, index);
    }

    /** Abandons a pack still open (what a failed run stored), then releases the lock. */
    @Override
    public void close() throws IOException {
        try {
            packs.close();
        } finally {
            lock.close();
        }
    }
}
