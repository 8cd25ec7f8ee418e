package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every backup lists the points to find its device's last one: in a bucket each read is a
 * round trip, so a point's metadata is one read (not a header and then the metadata), and the
 * reads go at once.
 */
class PointListingTest {
    private static final int CS = 16 << 10;

    @TempDir
    Path dir;

    @Test
    void aListingReadsEachPointFileOnceOldestFirst() throws IOException {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 64 << 10));
        List<Long> committed = new ArrayList<>();
        try (Repository r = Repository.open(dir, false)) {
            for (int i = 0; i < 20; i++) {
                committed.add(Points.commit(r, i % 3 == 0 ? "vdb" : "vda", Points.random(2 * CS, i)));
            }
        }
        Map<String, Integer> reads = new ConcurrentHashMap<>();
        ObjectStore store = Delegating.proxy(ObjectStore.class, new DirectoryStore(dir), (self, m, args, through) -> {
            if (m.getName().startsWith("get") && ((String) args[0]).startsWith("points/")) {
                reads.merge((String) args[0], 1, Integer::sum);
            }
            return through.call();
        });
        try (Repository r = Repository.open(store, false)) {
            reads.clear();
            assertEquals(committed, r.points().list().stream().map(Point::id).toList());
            assertEquals(20, reads.size());
            assertEquals(List.of(1), reads.values().stream().distinct().toList(), "one read each: " + reads);
            assertEquals(committed.getLast(), r.points().latest("vda").orElseThrow().id());
        }
    }
}
