package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13: point numbers come from no shared counter. A commit neither lists the points nor
 * takes the next number; two hosts committing at once into one repository each choose their
 * own, and a number taken is drawn again, never replaced.
 */
class PointIdsTest {
    private static final int CS = 16 << 10;

    @TempDir
    Path dir;

    @Test
    void numbersGrowWithTheSecondAndStayExactInJson() {
        Instant t = Instant.parse("2026-12-03T10:00:00Z");
        long a = new PointIds(Clock.fixed(t, ZoneOffset.UTC)).next();
        long b = new PointIds(Clock.fixed(t.plusSeconds(1), ZoneOffset.UTC)).next();
        assertEquals(t.getEpochSecond(), a / 1_000_000);
        assertTrue(b > a, a + " then " + b);
        long last = new PointIds(Clock.fixed(Instant.parse("2255-01-01T00:00:00Z"), ZoneOffset.UTC)).next();
        assertTrue(last < 1L << 53, "a double holds it exactly: " + last);
    }

    /** A commit makes no listing: what numbered points before was "the highest listed, plus one". */
    @Test
    void aCommitListsNothing() throws IOException {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 64 << 10));
        AtomicInteger pointListings = new AtomicInteger();
        ObjectStore store = Delegating.proxy(ObjectStore.class, new DirectoryStore(dir), (self, m, args, through) -> {
            if (m.getName().equals("list") && args[0].equals("points/")) {
                pointListings.incrementAndGet();
            }
            return through.call();
        });
        try (Repository r = Repository.open(store, false)) {
            pointListings.set(0);
            long id = Points.commit(r, "vda", Points.random(3 * CS, 1));
            assertEquals(0, pointListings.get());
            assertEquals(List.of(id), r.points().ids());
        }
    }

    /** The store refuses the first numbers drawn (taken by another host): the point goes under another. */
    @Test
    void aNumberTakenIsDrawnAgainAndNothingIsReplaced() throws IOException {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 64 << 10));
        long other;
        try (Repository r = Repository.open(dir, false)) {
            other = Points.commit(r, "vdb", Points.random(2 * CS, 9));
        }
        List<String> refused = new ArrayList<>();
        ObjectStore store = Delegating.proxy(ObjectStore.class, new DirectoryStore(dir), (self, m, args, through) -> {
            if (m.getName().equals("create") && ((String) args[0]).startsWith("points/") && refused.size() < 2) {
                refused.add((String) args[0]);
                return false;
            }
            return through.call();
        });
        byte[] content = Points.random(3 * CS, 1);
        long id;
        try (Repository r = Repository.open(store, false)) {
            id = Points.commit(r, "vda", content);
        }
        assertEquals(2, refused.size());
        assertTrue(!refused.contains(PointStore.name(id)), "committed under a third number: " + refused + ", " + id);
        try (Repository r = Repository.open(dir, false)) {
            assertEquals(Set.of(other, id), new HashSet<>(r.points().ids()));
            assertArrayEquals(content, Points.read(r, id));
            assertArrayEquals(Points.random(2 * CS, 9), Points.read(r, other));
        }
    }

    /** Hosts committing at once: every point is there, under its own number, and reads back as committed. */
    @Test
    void hostsCommittingAtOnceKeepEveryPoint() throws Exception {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 64 << 10));
        int hosts = 4;
        int each = 10;
        List<Long> ids = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(hosts);
        try {
            List<Future<?>> runs = new ArrayList<>();
            for (int h = 0; h < hosts; h++) {
                int host = h;
                runs.add(pool.submit((Callable<Void>) () -> {
                    try (Repository r = Repository.open(dir, false)) {
                        for (int k = 0; k < each; k++) {
                            ids.add(Points.commit(r, "host" + host, Points.random(2 * CS, host * 100 + k)));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : runs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        try (Repository r = Repository.open(dir, false)) {
            assertEquals(hosts * each, new HashSet<>(ids).size());
            assertEquals(new HashSet<>(ids), new HashSet<>(r.points().ids()));
            for (int h = 0; h < hosts; h++) {
                List<Point> mine = r.points().list("host" + h);
                assertEquals(each, mine.size());
                for (int k = 0; k < each; k++) {
                    assertArrayEquals(Points.random(2 * CS, h * 100 + k), Points.read(r, mine.get(k).id()),
                            "host " + h + ", point " + k + ", oldest first");
                }
            }
        }
    }
}
