package org.jblksnap.backup.repo;

/**
 * {@code repository.json}: the format name and version, the block size (a power of two from
 * 64 KiB to 64 MiB, so that it lines up with CBT blocks), the hash and the compression.
 */
public record RepositoryConfig(String format, int version, int blockSize, String hash, String compression,
        int zstdLevel) {
    public static final String FORMAT = "jblksnap-repository";
    public static final int VERSION = 1;
    public static final int MIN_BLOCK_SIZE = 64 << 10;
    public static final int MAX_BLOCK_SIZE = 64 << 20;

    public static RepositoryConfig of(int blockSize) {
        RepositoryConfig c = new RepositoryConfig(FORMAT, VERSION, blockSize, "sha256", "zstd", 3);
        c.check();
        return c;
    }

    void check() {
        if (!FORMAT.equals(format) || version != VERSION) {
            throw new IllegalArgumentException("not a " + FORMAT + " version " + VERSION + " (found " + format
                    + " version " + version + ")");
        }
        if (Integer.bitCount(blockSize) != 1 || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
            throw new IllegalArgumentException("block size " + blockSize + " is not a power of two from "
                    + MIN_BLOCK_SIZE + " to " + MAX_BLOCK_SIZE);
        }
        if (!"sha256".equals(hash) || !"zstd".equals(compression)) {
            throw new IllegalArgumentException("hash " + hash + " and compression " + compression
                    + " are not supported (sha256 and zstd are)");
        }
        if (zstdLevel < 1 || zstdLevel > 19) {
            throw new IllegalArgumentException("zstd level " + zstdLevel + " is outside 1..19");
        }
    }
}
