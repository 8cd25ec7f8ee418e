package org.jblksnap.repo;

import java.time.Instant;
import java.util.Comparator;

/**
 * A committed point: its number in the repository and its metadata. Numbers are chosen by the
 * host that commits ({@link PointIds}), so they say nothing of order: points are ordered by
 * when their snapshot was taken, then by number.
 */
public record Point(long id, PointMeta meta) {
    /**
     * Oldest first: by {@code created} (when its backup began; a backup dates its point after
     * the device's last one, whatever the clock says), then by number.
     */
    public static final Comparator<Point> OLDEST_FIRST = Comparator
            .comparing((Point p) -> p.meta().created(), Comparator.nullsFirst(Comparator.<Instant>naturalOrder()))
            .thenComparingLong(Point::id);
}
