package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.jblksnap.error.IoMessages;
import org.jblksnap.repo.crypto.Credential;
import org.jblksnap.repo.crypto.KeyRing;

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
    private final ObjectStore.LockMode mode;

    private Repository(ObjectStore store, RepositoryConfig config, ObjectCodec codec, ObjectStore.Lock lock,
            ObjectStore.LockMode mode, CatalogCache cache) {
        this.store = store;
        this.mode = mode;
        this.config = config;
        this.lock = lock;
        this.packs = new PackStore(store, config, codec, cache.of(store.location(), config, codec));
        this.points = new PointStore(store, codec);
    }

    /** Makes a new repository in dir (absent or empty). */
    public static void create(Path dir, RepositoryConfig config) throws IOException {
        create(new DirectoryStore(dir), config);
    }

    /**
     * Makes a new repository in the store's place, which must be empty. An encrypted one gets
     * its master key and first key slot, wrapped by the credential keys gives (asked for once
     * the place proved empty), before its settings: a repository whose settings are there is
     * whole. Returns the key slot's id (null when not encrypted; keys is null then).
     */
    public static String create(ObjectStore store, RepositoryConfig config, Unlock keys) throws IOException {
        config.check();
        if (config.encrypted() != (keys != null)) {
            throw new IllegalArgumentException(config.encrypted() ? "an encrypted repository needs a credential"
                    : "an unencrypted repository takes no credential");
        }
        store.prepare();
        String key = null;
        if (keys != null) {
            KeyRing ring = new KeyRing(new StoreKeys(store));
            key = ring.add(ring.newMasterKey(), keys.credential(store.location()));
        }
        if (!store.create(CONFIG, ByteBuffer.wrap(Json.MAPPER.writeValueAsBytes(config)))) {
            throw new RepositoryException("cannot create a repository in " + store.location()
                    + ": another process made one there meanwhile");
        }
        return key;
    }

    /** Makes a new unencrypted repository in the store's place, which must be empty. */
    public static void create(ObjectStore store, RepositoryConfig config) throws IOException {
        create(store, config, (Unlock) null);
    }

    /** Opens the repository in a directory; shared access for backups, restores and checks, exclusive when nobody else may use it ({@link #openForPrune} for a prune). */
    public static Repository open(Path dir, boolean exclusive) throws IOException {
        return open(new DirectoryStore(dir), exclusive);
    }

    /** Opens the repository at a location as {@code --repo} gives it ({@link RepositoryLocation}). */
    public static Repository open(String location, boolean exclusive) throws IOException {
        return open(RepositoryLocation.open(location), exclusive);
    }

    /** Opens an unencrypted repository in a store, which it closes when it is closed. */
    public static Repository open(ObjectStore store, boolean exclusive) throws IOException {
        return open(store, exclusive, Unlock.NONE);
    }

    /**
     * Opens the repository in a store, which it closes when it is closed; an encrypted one is
     * unlocked with the credential unlock gives, before anything is written or locked.
     */
    public static Repository open(ObjectStore store, boolean exclusive, Unlock unlock) throws IOException {
        return open(store, exclusive ? ObjectStore.LockMode.EXCLUSIVE : ObjectStore.LockMode.SHARED, unlock);
    }

    /**
     * Opens the repository for a prune beside backups, restores and checks, which may go on
     * meanwhile (no other prune may): {@code docs/REPOSITORY.md#verify-and-prune}.
     */
    public static Repository openForPrune(String location, Unlock unlock) throws IOException {
        return open(RepositoryLocation.open(location), ObjectStore.LockMode.PRUNE, unlock);
    }

    /** The same for a repository in a directory, unencrypted. */
    public static Repository openForPrune(Path dir) throws IOException {
        return open(new DirectoryStore(dir), ObjectStore.LockMode.PRUNE, Unlock.NONE);
    }

    /** Opens the repository in a store in a lock mode, unlocked with unlock if encrypted. */
    public static Repository open(ObjectStore store, ObjectStore.LockMode mode, Unlock unlock) throws IOException {
        return open(store, mode, unlock, CatalogCache.NONE);
    }

    /**
     * The same, its catalogue read through the cache: what this process read of the repository
     * before is not read again (a daemon's runs; {@code docs/REPOSITORY.md#persistent-index}).
     */
    public static Repository open(ObjectStore store, ObjectStore.LockMode mode, Unlock unlock, CatalogCache cache)
            throws IOException {
        try {
            store.checkReachable();
            RepositoryConfig config = readConfig(store);
            ObjectCodec codec = config.encrypted()
                    ? ObjectCodec.sealed(new KeyRing(new StoreKeys(store)).unlock(unlock.credential(store.location())).key())
                    : ObjectCodec.plain(config.version());
            ObjectStore.Lock lock = store.lock(mode);
            return new Repository(store, config, codec, lock, mode, cache);
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** Opens the repository at a location as {@code --repo} gives it, unlocked with unlock if encrypted. */
    public static Repository open(String location, boolean exclusive, Unlock unlock) throws IOException {
        return open(RepositoryLocation.open(location), exclusive, unlock);
    }

    /** Whether the repository in the store is encrypted (a check of its settings, nothing unlocked or locked). */
    public static boolean isEncrypted(ObjectStore store) throws IOException {
        return readConfig(store).encrypted();
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
        return openOrCreate(store, config, KeyFiles.NONE);
    }

    /** The same at a location as {@code --repo} gives it. */
    public static Repository openOrCreate(String location, RepositoryConfig config, KeyFiles keys) throws IOException {
        return openOrCreate(RepositoryLocation.open(location), config, keys);
    }

    /**
     * Opens the store's repository for a backup, unlocked by keys if it is encrypted; when the
     * place is absent or empty, a new repository is made first with config's settings, encrypted
     * under keys when they name a file. A config that asks for encryption with no keys given is
     * refused there: an unencrypted repository is made only when asked for.
     */
    public static Repository openOrCreate(ObjectStore store, RepositoryConfig config, KeyFiles keys)
            throws IOException {
        return openOrCreate(store, config, keys, CatalogCache.NONE);
    }

    /** The same, its catalogue read through the cache: what this process read of the repository is not read again. */
    public static Repository openOrCreate(ObjectStore store, RepositoryConfig config, KeyFiles keys, CatalogCache cache)
            throws IOException {
        try {
            if (!hasConfig(store)) {
                if (config.encrypted() && !keys.given()) {
                    throw new RepositoryException("there is no repository at " + store.location()
                            + ", and making one encrypted needs a password or key file (--password-file,"
                            + " $JBLKSNAP_PASSWORD_FILE or --key-file; password_file or key_file in a job); for an"
                            + " unencrypted one, ask for encryption none (--encryption none; \"encryption\": \"none\" in a job)");
                }
                // the file read before anything is made: a missing or empty one leaves no place behind
                Credential credential = keys.given() ? keys.credential(store.location()) : null;
                create(store, config.withEncryption(keys.given()), credential == null ? null : location -> credential);
            }
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
        return open(store, ObjectStore.LockMode.SHARED, keys, cache);
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

    /** Its settings. */
    public RepositoryConfig config() {
        return config;
    }

    public PackStore packs() {
        return packs;
    }

    public PointStore points() {
        return points;
    }

    /** Opened exclusively: nobody else uses the repository meanwhile. */
    public boolean exclusive() {
        return mode == ObjectStore.LockMode.EXCLUSIVE;
    }

    /** How this handle holds the repository. */
    public ObjectStore.LockMode mode() {
        return mode;
    }

    /** This handle's lock. */
    ObjectStore.Lock lock() {
        return lock;
    }

    /** Temporary files of interrupted runs that opening removed. */
    public int removedTemporaries() {
        return lock.removedTemporaries();
    }

    /**
     * Makes what the point uses durable (the open pack closed, directories synced), then
     * commits the point; returns its id. Refused when this handle's lock lapsed since it was
     * taken, and undone when it may have lapsed while committing: a prune may have taken this
     * process for dead and deleted packs it relies on ({@code docs/REPOSITORY.md#verify-and-prune}).
     */
    public long commit(PointMeta meta, HashList index) throws IOException {
        if (meta.blockSize() != blockSize() || meta.chunkSize() != chunkSize()) {
            throw new IllegalArgumentException("point block and chunk sizes " + meta.blockSize() + ", "
                    + meta.chunkSize() + " differ from the repository's " + blockSize() + ", " + chunkSize());
        }
        packs.flush();
        long ticket = lock.checkHeld();
        long id = points.commit(meta, index);
        try {
            lock.checkSince(ticket);
        } catch (IOException | RuntimeException e) {
            points.delete(id);
            throw e;
        }
        return id;
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
