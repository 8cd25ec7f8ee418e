package org.jblksnap.repo;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What one backup run did: bytes read from the source, chunks whose content differs from the
 * parent point (or, without one, that are not zeroes), chunks newly stored, the compressed
 * bytes it stored (chunks and manifests), chunks of zeroes among those it looked at, seconds,
 * and for an incremental run the bytes the dirty bitmap reported changed (null otherwise).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PointStats(long bytesRead, long changedChunks, long newChunks, long storedBytes, long zeroChunks,
        double seconds, Long dirtyBytes) {
}
