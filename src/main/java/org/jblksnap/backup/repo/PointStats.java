package org.jblksnap.backup.repo;

/**
 * What one backup run did: bytes read from the source, blocks whose content differs from
 * the parent point, blocks newly stored and their compressed size, zero blocks, seconds.
 */
public record PointStats(long bytesRead, long changedBlocks, long newBlocks, long storedBytes, long zeroBlocks,
        double seconds) {
}
