package org.jblksnap.repo;

import java.security.SecureRandom;
import java.time.Clock;

/**
 * Chooses a new point's number with no shared counter, so that hosts backing up into one
 * repository never coordinate for it ({@code docs/REPOSITORY.md#point-files}): the second it is
 * committed times a million, plus six random decimal digits. Two numbers collide only when two
 * commits fall in the same second and draw the same digits (one in a million), and then the
 * create-only-if-absent commit refuses the second, which draws again. The numbers stay below
 * 2^53 (until the year 2255), so JSON readers that hold numbers as doubles read them exactly,
 * and they grow with time, so a listing by name is roughly oldest first.
 */
final class PointIds {
    private static final long RANDOM_PART = 1_000_000L;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Clock clock;

    PointIds(Clock clock) {
        this.clock = clock;
    }

    long next() {
        return clock.instant().getEpochSecond() * RANDOM_PART + RANDOM.nextLong(RANDOM_PART);
    }
}
