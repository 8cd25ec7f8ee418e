package org.jblksnap.repo;

import java.security.SecureRandom;
import java.util.HexFormat;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The repository's settings, {@code repository.json}: fields and ranges in
 * {@code docs/REPOSITORY.md#repository-configuration}, checked by {@link #check}.
 */
public record RepositoryConfig(String format, int version, int blockSize, int chunkSize, long packSize, String hash,
        String compression, int zstdLevel, String encryption, @JsonInclude(JsonInclude.Include.NON_NULL) String id) {
    public static final String FORMAT = "jblksnap-repository";
    /** The version new repositories get. */
    public static final int VERSION = 3;
    /** The earliest version this jblksnap reads (and writes into): version 2, never encrypted. */
    public static final int OLDEST_VERSION = 2;
    public static final String ENCRYPTED = "aes-256-gcm";
    public static final String NOT_ENCRYPTED = "none";
    public static final int BLOCK_SIZE = 4 << 20;
    public static final int DEFAULT_CHUNK_SIZE = 64 << 10;
    public static final int MIN_CHUNK_SIZE = 4 << 10;
    public static final int MAX_CHUNK_SIZE = BLOCK_SIZE;
    public static final long DEFAULT_PACK_SIZE = 32 << 20;
    public static final long MIN_PACK_SIZE = 64 << 10;
    public static final long MAX_PACK_SIZE = 1L << 30;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Settings without an id (version 2, and version 3 repositories made before ids). */
    public RepositoryConfig(String format, int version, int blockSize, int chunkSize, long packSize, String hash,
            String compression, int zstdLevel, String encryption) {
        this(format, version, blockSize, chunkSize, packSize, hash, compression, zstdLevel, encryption, null);
    }

    /**
     * The zstd level of new repositories. 1 rather than 3: on bench-backup's mixed content
     * (ZstdLevelBench, 64 KiB chunks) level 1 compresses about a fifth faster for about 1 %
     * more stored; Proxmox Backup Server uses 1 too. Existing repositories keep theirs.
     */
    static final int DEFAULT_ZSTD_LEVEL = 1;

    /** A new unencrypted repository's settings with the default pack size. */
    public static RepositoryConfig of(int chunkSize) {
        return of(chunkSize, DEFAULT_PACK_SIZE);
    }

    public static RepositoryConfig of(int chunkSize, long packSize) {
        return of(chunkSize, packSize, false);
    }

    public static RepositoryConfig of(int chunkSize, long packSize, boolean encrypted) {
        RepositoryConfig c = new RepositoryConfig(FORMAT, VERSION, BLOCK_SIZE, chunkSize, packSize, "sha256", "zstd",
                DEFAULT_ZSTD_LEVEL, encrypted ? ENCRYPTED : NOT_ENCRYPTED, newId());
        c.check();
        return c;
    }

    /** Whether its packs and points are sealed, so that opening it needs a key. */
    public boolean encrypted() {
        return ENCRYPTED.equals(encryption);
    }

    /** The same settings, encrypted or not. */
    public RepositoryConfig withEncryption(boolean encrypted) {
        return new RepositoryConfig(format, version, blockSize, chunkSize, packSize, hash, compression, zstdLevel,
                encrypted ? ENCRYPTED : NOT_ENCRYPTED, id);
    }

    /**
     * The settings of a new repository (of the current version, with a new id) with this one's
     * chunk size, pack size and level: what {@code copy} makes its target with. Encrypted or not
     * is for {@link Repository#openOrCreate} to say ({@link #withEncryption}).
     */
    public RepositoryConfig likeThis() {
        return new RepositoryConfig(FORMAT, VERSION, blockSize, chunkSize, packSize, hash, compression, zstdLevel,
                NOT_ENCRYPTED, newId());
    }

    /** A new repository id: 32 random lower-case hex digits. */
    static String newId() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    void check() {
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException("not a " + FORMAT + " (format " + format + ")");
        }
        if (version >= 1 && version < OLDEST_VERSION) {
            throw new IllegalArgumentException("this repository was made by an earlier jblksnap (format version "
                    + version + "), which this one does not read: back up into a new repository");
        }
        if (version < OLDEST_VERSION || version > VERSION) {
            throw new IllegalArgumentException("format version " + version + " is not supported (this jblksnap reads "
                    + OLDEST_VERSION + " and " + VERSION + ")");
        }
        if (version == OLDEST_VERSION ? encryption != null : !ENCRYPTED.equals(encryption)
                && !NOT_ENCRYPTED.equals(encryption)) {
            throw new IllegalArgumentException("encryption '" + encryption + "' is not supported in format version "
                    + version + " (" + (version == OLDEST_VERSION ? "version 2 is never encrypted"
                            : ENCRYPTED + " or " + NOT_ENCRYPTED + " are") + ")");
        }
        if (blockSize != BLOCK_SIZE) {
            throw new IllegalArgumentException("block size " + blockSize + " is not " + BLOCK_SIZE);
        }
        if (Integer.bitCount(chunkSize) != 1 || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
            throw new IllegalArgumentException("chunk size " + chunkSize + " is not a power of two from "
                    + MIN_CHUNK_SIZE + " to " + MAX_CHUNK_SIZE);
        }
        if (packSize < MIN_PACK_SIZE || packSize > MAX_PACK_SIZE) {
            throw new IllegalArgumentException("pack size " + packSize + " is outside " + MIN_PACK_SIZE + ".."
                    + MAX_PACK_SIZE);
        }
        if (!"sha256".equals(hash) || !"zstd".equals(compression)) {
            throw new IllegalArgumentException("hash " + hash + " and compression " + compression
                    + " are not supported (sha256 and zstd are)");
        }
        if (zstdLevel < 1 || zstdLevel > 19) {
            throw new IllegalArgumentException("zstd level " + zstdLevel + " is outside 1..19");
        }
        if (id != null && !id.matches("[0-9a-f]{32}")) {
            throw new IllegalArgumentException("repository id '" + id + "' is not 32 lower-case hex digits");
        }
    }

    /** The length of the manifest of a whole block. */
    int maxManifestLength() {
        return blockSize / chunkSize * Hash.BYTES;
    }
}
