package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The prune's mark, which reads the manifests of the points it keeps several at a time
 * (Pruner.MANIFEST_READS): what a kept point uses stays whatever the order the reads end in,
 * and a kept point whose manifest does not read stops the prune before anything is deleted.
 */
@Timeout(120)
class PruneMarkTest {
    private static final int CS = 64 << 10;
    private static final int BLOCK = RepositoryConfig.BLOCK_SIZE;

    @TempDir
    Path dir;

    /** Points of twenty blocks (more than the reads at once) sharing some: each kept one restores. */
    @Test
    void everyChunkOfTheKeptPointsStays() throws Exception {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 1 << 20));
        byte[] a = Points.random(20 * BLOCK, 1); // twenty blocks
        byte[] b = a.clone();
        System.arraycopy(Points.random(5 * BLOCK, 2), 0, b, 7 * BLOCK + CS, 5 * BLOCK);
        byte[] c = Points.random(20 * BLOCK, 3);
        long kept1;
        long kept2;
        try (Repository r = Repository.open(dir, false)) {
            Points.commit(r, "vda", c);
            kept1 = Points.commit(r, "vda", a);
            kept2 = Points.commit(r, "vda", b);
        }
        try (Repository p = Repository.openForPrune(dir)) {
            PruneReport report = Pruner.prune(p, 2);
            assertTrue(report.condemnedPacks() > 0, report.format());
        }
        try (Repository r = Repository.open(dir, false)) {
            assertEquals(List.of(kept1, kept2), r.points().list().stream().map(Point::id).toList());
            assertArrayEquals(a, Points.read(r, kept1));
            assertArrayEquals(b, Points.read(r, kept2));
        }
    }

    @Test
    void aKeptPointWhoseManifestDoesNotReadStopsThePruneNamingIt() throws Exception {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 1 << 20));
        long old;
        long kept;
        Hash manifest;
        try (Repository r = Repository.open(dir, false)) {
            old = Points.commit(r, "vda", Points.random(3 * BLOCK, 4));
            kept = Points.commit(r, "vda", Points.random(3 * BLOCK, 5));
            manifest = r.points().index(r.points().get(kept)).get(2);
            Points.damage(r, EntryType.MANIFEST, manifest);
        }
        try (Repository p = Repository.openForPrune(dir)) {
            RepositoryException e = assertThrows(RepositoryException.class, () -> Pruner.prune(p, 1));
            assertTrue(e.getMessage().startsWith("point " + kept + " is kept but its manifest " + manifest.hex()),
                    e.getMessage());
        }
        try (Repository r = Repository.open(dir, false)) {
            assertEquals(List.of(old, kept), r.points().list().stream().map(Point::id).toList(), "nothing was pruned");
        }
    }
}
