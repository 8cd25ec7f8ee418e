package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Retention keeps what restic's {@code forget --keep-*} keeps for the same list of times
 * (restic's ApplyPolicy: newest first, a rule keeps a point of a new bucket while its count
 * lasts, and the oldest point while it has a count left). Points are numbered 1 (newest) to 10.
 */
class RetentionTest {
    /** Point n (id n) at TIMES[n-1]: 2024-03-10 is a Sunday, so 1 to 5 are ISO week 10, 6 week 9. */
    private static final String[] TIMES = {
        "2024-03-10T12:00:00Z", "2024-03-10T08:00:00Z", "2024-03-09T23:00:00Z", "2024-03-09T10:00:00Z",
        "2024-03-04T10:00:00Z", "2024-03-01T10:00:00Z", "2024-02-15T10:00:00Z", "2024-01-20T10:00:00Z",
        "2023-12-31T10:00:00Z", "2023-06-01T10:00:00Z"};

    record Case(String name, Retention keep, ZoneId zone, Set<Long> kept) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Case> cases() {
        ZoneId utc = ZoneOffset.UTC;
        return List.of(
                new Case("last 3", new Retention(3, 0, 0, 0, 0, 0), utc, Set.of(1L, 2L, 3L)),
                new Case("daily 2: one per day, newest of each", new Retention(0, 0, 2, 0, 0, 0), utc, Set.of(1L, 3L)),
                new Case("daily 20: every day, and the oldest", new Retention(0, 0, 20, 0, 0, 0), utc,
                        Set.of(1L, 3L, 5L, 6L, 7L, 8L, 9L, 10L)),
                new Case("daily all", new Retention(0, 0, Retention.ALL, 0, 0, 0), utc,
                        Set.of(1L, 3L, 5L, 6L, 7L, 8L, 9L, 10L)),
                new Case("weekly 2: ISO weeks", new Retention(0, 0, 0, 2, 0, 0), utc, Set.of(1L, 6L)),
                new Case("monthly 3", new Retention(0, 0, 0, 0, 3, 0), utc, Set.of(1L, 7L, 8L)),
                new Case("yearly 5: the oldest kept while counts are left", new Retention(0, 0, 0, 0, 0, 5), utc,
                        Set.of(1L, 9L, 10L)),
                new Case("hourly 2 and monthly 1: the union", new Retention(0, 2, 0, 0, 1, 0), utc, Set.of(1L, 2L)),
                new Case("last 1 and weekly 3", new Retention(1, 0, 0, 3, 0, 0), utc, Set.of(1L, 6L, 7L)),
                new Case("daily 2 in Berlin: 23:00 UTC is the next day there", new Retention(0, 0, 2, 0, 0, 0),
                        ZoneId.of("Europe/Berlin"), Set.of(1L, 4L)),
                new Case("last 20: more than there are", new Retention(20, 0, 0, 0, 0, 0), utc,
                        Set.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L)));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void keepsWhatResticForgetKeeps(Case c) {
        List<Point> points = new ArrayList<>();
        for (int i = TIMES.length; i >= 1; i--) { // oldest first, as the repository lists them
            points.add(point(i, TIMES[i - 1]));
        }
        assertEquals(new TreeSet<>(c.kept()), new TreeSet<>(c.keep().keep(points, c.zone())), c.name());
    }

    @Test
    void pointsOfOneTimeAreOrderedByIdNewestFirst() {
        List<Point> points = List.of(point(1, TIMES[0]), point(2, TIMES[0]));
        assertEquals(Set.of(2L), Retention.lastOnly(1).keep(points, ZoneOffset.UTC));
    }

    @Test
    void aRetentionWithoutAKeepRuleOrWithABadCountIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Retention(0, 0, 0, 0, 0, 0));
        assertTrue(e.getMessage().contains("at least one keep rule"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Retention(-2, 0, 0, 0, 0, 0));
    }

    private static Point point(long id, String time) {
        return new Point(id, new PointMeta("disk0", 1 << 20, 1 << 20, 64 << 10, Instant.parse(time), null, null, null,
                null, null));
    }
}
