package org.jblksnap.repo;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What one backup run did, kept in its point's metadata (the fields:
 * {@code docs/REPOSITORY.md#point-files}). changedChunks counts the chunks whose content
 * differs from the parent point's or, without one, that are not zeroes; dirtyBytes is null
 * for a full run.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PointStats(long bytesRead, long changedChunks, long newChunks, long storedBytes, long zeroChunks,
        double seconds, Long dirtyBytes) {
}
