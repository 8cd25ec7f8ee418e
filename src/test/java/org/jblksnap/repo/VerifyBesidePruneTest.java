package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Verifier;
import org.jblksnap.backup.VerifyReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full verify with a real prune running beside it, started just as verify reads its first
 * pack: the prune's sweep deletes the packs of a ripe marker that verify's catalogue knew as
 * condemned, and it removes a point verify had listed. Neither is a problem of the repository:
 * verify says what went, checks the point still there, and finds it good. Before, the removed
 * point failed the whole verify with "no point N" and each swept pack was a problem.
 */
@Timeout(120)
class VerifyBesidePruneTest {
    private static final int CS = 4096;

    @TempDir
    Path dir;

    @Test
    void aPointAndCondemnedPacksAPruneRemovesMeanwhileAreCountedNotProblems() throws Exception {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 64 << 10));
        byte[] kept = Points.random(64 * CS, 3);
        long last;
        try (Repository r = Repository.open(dir, false)) {
            Points.commit(r, "vda", Points.random(64 * CS, 1));
            Points.commit(r, "vda", Points.random(64 * CS, 2));
            last = Points.commit(r, "vda", kept);
        }
        // A prune beside a holder: point 1's packs are condemned, and the marker waits for the holder.
        try (Repository holder = Repository.open(dir, false); Repository p = Repository.openForPrune(dir)) {
            PruneReport first = Pruner.prune(p, 2);
            assertTrue(first.condemnedPacks() > 0, first.format());
            assertEquals(0, first.removedPacks(), "the holder is alive: nothing swept yet; " + first.format());
        }
        List<String> condemned = Condemned.packs(Condemned.list(new DirectoryStore(dir))).stream().sorted().toList();
        assertFalse(condemned.isEmpty());

        boolean[] pruned = {false};
        ObjectStore store = Delegating.proxy(ObjectStore.class, new DirectoryStore(dir), (self, m, args, through) -> {
            if (m.getName().equals("get") && ((String) args[0]).startsWith("packs/")) {
                // verify reads its first pack whole: the prune runs now, and a pack read ahead on
                // another thread waits for it (else it may check a condemned pack before the sweep)
                synchronized (pruned) {
                    if (!pruned[0]) {
                        pruned[0] = true;
                        try (Repository p = Repository.openForPrune(dir)) {
                            Pruner.prune(p, 1);
                        }
                    }
                }
            }
            return through.call();
        });
        VerifyReport v;
        try (Repository r = Repository.open(store, false)) {
            v = new Verifier(r, Progress.quiet(new PrintStream(PrintStream.nullOutputStream())), 1).verify(null);
        }
        assertTrue(pruned[0]);
        for (String pack : condemned) {
            assertFalse(Files.exists(dir.resolve(pack)), "the sweep deleted " + pack);
        }
        assertTrue(v.ok(), v.format());
        assertEquals(1, v.points(), v.format());
        assertEquals(1, v.prunedPoints(), v.format());
        assertEquals(condemned.size(), v.prunedPacks(), v.format());
        assertTrue(v.format().contains("a prune beside removed 1 point and " + condemned.size() + " condemned pack"),
                v.format());
        try (Repository r = Repository.open(dir, false)) {
            assertEquals(List.of(last), r.points().ids());
            assertArrayEquals(kept, Points.read(r, last));
        }
    }
}
