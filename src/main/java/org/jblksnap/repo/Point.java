package org.jblksnap.repo;

/** A committed point: its number in the repository and its metadata. */
public record Point(long id, PointMeta meta) {
}
