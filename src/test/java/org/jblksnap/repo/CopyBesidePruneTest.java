package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

import org.jblksnap.backup.CopySummary;
import org.jblksnap.backup.PointCopier;
import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Verifier;
import org.jblksnap.backup.VerifyReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copy with a real prune running on its source, started as the copy reads its first point
 * index: the prune removes the point copied before (the copy's reference) and one the copy had
 * listed to copy. The copy copies what is left, counts the removed point as gone, and the
 * target holds good copies. Before, the first missing point file failed the whole copy.
 */
@Timeout(120)
class CopyBesidePruneTest {
    private static final int CS = 4096;

    @TempDir
    Path dir;

    @Test
    void pointsAPruneRemovesFromTheSourceMeanwhileAreGoneAndTheRestIsCopied() throws Exception {
        Path src = dir.resolve("src");
        Repository.create(new DirectoryStore(src), RepositoryConfig.of(CS, 64 << 10));
        byte[] last = Points.random(64 * CS, 3);
        long newest;
        long first;
        try (Repository r = Repository.open(src, false)) {
            first = Points.commit(r, "vda", Points.random(64 * CS, 1));
            Points.commit(r, "vda", Points.random(64 * CS, 2));
            newest = Points.commit(r, "vda", last);
        }
        Path dst = dir.resolve("dst");
        Repository.create(new DirectoryStore(dst), RepositoryConfig.of(CS, 64 << 10));
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        try (Repository from = Repository.open(src, false); Repository to = Repository.open(dst, false)) {
            new PointCopier(from, to, Progress.quiet(quiet), 2).copy(PointCopier.select(from, null, Long.toString(first)));
        }

        boolean[] pruned = {false};
        ObjectStore store = Delegating.proxy(ObjectStore.class, new DirectoryStore(src), (self, m, args, through) -> {
            if (m.getName().equals("get") && ((String) args[0]).startsWith("points/") && !pruned[0]) {
                pruned[0] = true; // the copy reads its first point index whole: the prune runs now
                try (Repository p = Repository.openForPrune(src)) {
                    Pruner.prune(p, 1);
                }
            }
            return through.call();
        });
        PointCopier.Report report;
        try (Repository from = Repository.open(store, false); Repository to = Repository.open(dst, false)) {
            List<Point> all = PointCopier.select(from, null, null);
            assertEquals(3, all.size());
            report = new PointCopier(from, to, Progress.quiet(quiet), 2).copy(all);
        }
        assertTrue(pruned[0]);
        assertEquals(1, report.skipped(), "the first point was copied before");
        assertEquals(1, report.gone(), "the second went before its copy began");
        assertEquals(List.of(newest), report.copied().stream().map(CopySummary::sourcePoint).toList());
        try (Repository to = Repository.open(dst, false)) {
            assertArrayEquals(last, Points.read(to, report.copied().getFirst().targetPoint()));
            VerifyReport v = new Verifier(to, Progress.quiet(quiet), 2).verify(null);
            assertTrue(v.ok(), v.format());
            assertEquals(2, v.points());
        }
    }
}
