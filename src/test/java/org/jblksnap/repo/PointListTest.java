package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A point a prune removes between the listing of the points and the read of its metadata is
 * left out of the list, not an error: a backup looking for its device's last point failed
 * with "no point N" when a prune beside it removed an old point (TwoDaemonsOneBucketTest).
 */
@Timeout(60)
class PointListTest {
    private static final int CS = 4096;

    @TempDir
    Path dir;

    @Test
    void aPointRemovedAfterTheListingIsLeftOut() throws Exception {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 64 << 10));
        long old;
        long latest;
        try (Repository r = Repository.open(dir, false)) {
            old = Points.commit(r, "vda", Points.random(16 * CS, 1));
            latest = Points.commit(r, "vda", Points.random(16 * CS, 2));
        }
        String removed = PointStore.name(old);
        boolean[] done = {false};
        ObjectStore store = Delegating.proxy(ObjectStore.class, new DirectoryStore(dir), (self, m, args, through) -> {
            if (m.getName().startsWith("get") && removed.equals(args[0]) && !done[0]) {
                Files.delete(dir.resolve(removed)); // a prune's removal, after the listing, before the read
                done[0] = true;
            }
            return through.call();
        });
        try (Repository r = Repository.open(store, false)) {
            assertEquals(latest, r.points().latest("vda").orElseThrow().id());
            assertTrue(done[0]);
            assertEquals(List.of(latest), r.points().list().stream().map(Point::id).toList());
        }
    }
}
