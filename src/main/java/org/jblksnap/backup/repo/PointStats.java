package org.jblksnap.backup.repo;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What one backup run did: bytes read from the source, blocks whose content differs from
 * the parent point, blocks newly stored and their compressed size, zero blocks, seconds,
 * and for an incremental run the bytes the dirty bitmap reported changed (null otherwise).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PointStats(long bytesRead, long changedBlocks, long newBlocks, long storedBytes, long zeroBlocks,
        double seconds, Long dirtyBytes) {
}
