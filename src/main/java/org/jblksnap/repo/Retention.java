package org.jblksnap.repo;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.ToLongFunction;

/**
 * Which points of one device a prune keeps: the rules of restic's {@code forget --keep-*}
 * (and Proxmox Backup Server's {@code --keep-*}). The points are walked newest first; each
 * rule with a count left keeps a point whose bucket (the point itself for {@code last}; its
 * hour, day, ISO week, month or year, in the given time zone, for the others) differs from
 * the bucket of the last point that rule kept, and counts one down. A rule with a count left
 * also keeps the oldest point, which makes the history kept as long as it can be. A point is
 * kept when any rule keeps it. A count of {@link #ALL} never runs out; 0 turns a rule off.
 */
public record Retention(int last, int hourly, int daily, int weekly, int monthly, int yearly) {
    /** A count that never runs out (restic's -1). */
    public static final int ALL = -1;

    /** The rules' names, as options and config fields say them after {@code keep_}/{@code --keep-}. */
    public static final List<String> RULES = List.of("last", "hourly", "daily", "weekly", "monthly", "yearly");

    public Retention {
        for (int c : new int[] {last, hourly, daily, weekly, monthly, yearly}) {
            if (c < ALL) {
                throw new IllegalArgumentException("a keep count is a number of points, or -1 for all; got " + c);
            }
        }
        if (last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0) {
            throw new IllegalArgumentException("a retention needs at least one keep rule ("
                    + String.join(", ", RULES.stream().map(r -> "keep_" + r).toList()) + "; -1 keeps all)");
        }
    }

    /** Keeps the newest n points. */
    public static Retention lastOnly(int n) {
        return new Retention(n, 0, 0, 0, 0, 0);
    }

    /** The ids of the points kept, of the points of one device. */
    public Set<Long> keep(List<Point> points, ZoneId zone) {
        List<Point> newestFirst = new ArrayList<>(points);
        newestFirst.sort(Point.OLDEST_FIRST.reversed());
        List<Rule> rules = new ArrayList<>();
        rules.add(new Rule(last, null));
        rules.add(new Rule(hourly, t -> t.getYear() * 1_000_000L + t.getMonthValue() * 10_000L
                + t.getDayOfMonth() * 100L + t.getHour()));
        rules.add(new Rule(daily, t -> t.getYear() * 10_000L + t.getMonthValue() * 100L + t.getDayOfMonth()));
        rules.add(new Rule(weekly, t -> t.get(IsoFields.WEEK_BASED_YEAR) * 100L + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR)));
        rules.add(new Rule(monthly, t -> t.getYear() * 100L + t.getMonthValue()));
        rules.add(new Rule(yearly, t -> (long) t.getYear()));
        Set<Long> kept = new HashSet<>();
        for (int nr = 0; nr < newestFirst.size(); nr++) {
            Point p = newestFirst.get(nr);
            ZonedDateTime t = created(p).atZone(zone);
            boolean oldest = nr == newestFirst.size() - 1;
            for (Rule r : rules) {
                if (r.offer(r.bucket == null ? nr : r.bucket.applyAsLong(t), oldest)) {
                    kept.add(p.id());
                }
            }
        }
        return kept;
    }

    private static Instant created(Point p) {
        return p.meta().created() == null ? Instant.EPOCH : p.meta().created();
    }

    /** One keep rule while the points are walked: its count left and the bucket it kept last. */
    private static final class Rule {
        private int left;
        private final ToLongFunction<ZonedDateTime> bucket;
        private Long lastKept;

        Rule(int count, ToLongFunction<ZonedDateTime> bucket) {
            this.left = count;
            this.bucket = bucket;
        }

        boolean offer(long value, boolean oldest) {
            if (left == 0) {
                return false;
            }
            if (lastKept != null && lastKept == value && !oldest) {
                return false;
            }
            lastKept = value;
            if (left > 0) {
                left--;
            }
            return true;
        }
    }
}
