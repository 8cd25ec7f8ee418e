package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.jblksnap.error.IoMessages;

import com.fasterxml.jackson.core.JsonProcessingException;

/**
 * A backup repository in an {@link ObjectStore} (a directory or an S3 bucket), opened: its settings ({@link RepositoryConfig}), its lock
 * ({@link RepoLock}), its packs ({@link PackStore}) and its points ({@link PointStore}).
 * Layout and formats: {@code docs/REPOSITORY.md#layout}.
 *
 * Every point is a whole image by reference: its index names, for every 4 MiB block of the
 * device, a manifest, which names the content of each of the block's chunks. A point exists
 * once its file is committed, after every pack it uses is durable ({@link #commit}).
 */
public final class Repository implements AutoCloseable {
    private static final String CONFIG = "repository.json";

    private final ObjectStore store;
    private final RepositoryConfig config;
    private final ObjectStore.Lock lock;
    private final PackStore packs;
    private final PointStore points;
    private final boolean exclusive;

    private Repository(ObjectStore store, RepositoryConfig config, ObjectStore.Lock lock, boolean exclusive) {
        this.store = store;
        this.exclusive = exclusive;
        this.config = config;
        this.lock = lock;
        this.packs = new PackStore(store, config);
        this.points = new PointStore(store);
    }

    /** Makes a new repository in dir (absent or empty). */
    public static void create(Path dir, RepositoryConfig config) throws IOException {
        create(new DirectoryStore(dir), config);
    }

    /** Makes a new repository in the store's place, which must be empty. */
    public static void create(ObjectStore store, RepositoryConfig config) throws IOException {
        config.check();
        store.prepare();
        if (!store.create(CONFIG, ByteBuffer.wrap(Json.MAPPER.writeValueAsBytes(config)))) {
            throw new RepositoryException("cannot create a repository in " + store.location()
                    + ": another process made one there meanwhile");
        }
    }

    /** Opens the repository in a directory; shared access for backups, restores and checks, exclusive to prune. */
    public static Repository open(Path dir, boolean exclusive) throws IOException {
        return open(new DirectoryStore(dir), exclusive);
    }

    /** Opens the repository at a location as {@code --repo} gives it ({@link RepositoryLocation}). */
    public static Repository open(String location, boolean exclusive) throws IOException {
        return open(RepositoryLocation.open(location), exclusive);
    }

    /** Opens the repository in a store, which it closes when it is closed. */
    public static Repository open(ObjectStore store, boolean exclusive) throws IOException {
        try {
            store.checkReachable();
            RepositoryConfig config = readConfig(store);
            if (hasKeys(store)) {
                // Until pack entries, indexes and points are sealed (docs/REPOSITORY.md, "Encryption"),
                // reading or writing plain data in a repository made encrypted would break its promise.
                throw new RepositoryException("repository " + store.location() + " is encrypted (it has keys), and "
                        + "this jblksnap does not yet seal or open its backups: back up into a repository made with "
                        + "`jblksnap init --encryption none`");
            }
            ObjectStore.Lock lock = store.lock(exclusive);
            return new Repository(store, config, lock, exclusive);
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    private static boolean hasKeys(ObjectStore store) throws IOException {
        try {
            return !store.list("keys/").isEmpty();
        } catch (NoSuchFileException e) {
            return false; // a directory repository without keys/
        }
    }

    private static RepositoryConfig readConfig(ObjectStore store) throws IOException {
        try {
            RepositoryConfig config = Json.MAPPER.readValue(store.get(CONFIG), RepositoryConfig.class);
            config.check();
            return config;
        } catch (NoSuchFileException e) {
            throw new RepositoryException(store.location() + " is not a backup repository (no " + CONFIG + ")");
        } catch (JsonProcessingException e) {
            throw new RepositoryException(store.describe(CONFIG) + " is not valid: " + e.getOriginalMessage(), e);
        } catch (RepositoryException e) {
            throw e;
        } catch (IOException | IllegalArgumentException e) {
            throw new RepositoryException(store.describe(CONFIG) + ": "
                    + (e instanceof IOException io ? IoMessages.reason(io) : e.getMessage()), e);
        }
    }

    /**
     * Opens dir for a backup, creating the repository first (with config) when dir is absent
     * or empty; an existing repository keeps its own settings.
     */
    public static Repository openOrCreate(Path dir, RepositoryConfig config) throws IOException {
        return openOrCreate(new DirectoryStore(dir), config);
    }

    /** The same at a location as {@code --repo} gives it. */
    public static Repository openOrCreate(String location, RepositoryConfig config) throws IOException {
        return openOrCreate(RepositoryLocation.open(location), config);
    }

    public static Repository openOrCreate(ObjectStore store, RepositoryConfig config) throws IOException {
        try {
            if (!hasConfig(store)) {
                create(store, config);
            }
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
        return open(store, false);
    }

    /** Whether the place holds a repository; false too when it is not a place for one ({@link ObjectStore#prepare} says why). */
    private static boolean hasConfig(ObjectStore store) throws IOException {
        try {
            store.getRange(CONFIG, 0, 1);
            return true;
        } catch (FileSystemException e) {
            return false;
        }
    }

    /** Where its objects are. */
    ObjectStore store() {
        return store;
    }

    /** Where it is, as messages name it. */
    public String location() {
        return store.location();
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
        return lock.removedTemporaries();
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
            try {
                lock.close();
            } finally {
                store.close();
            }
        }
    }
}
