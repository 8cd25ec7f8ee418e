package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Manifests read ahead are the ones a direct read gives, a block taken without being read
 * ahead is read then, and a damaged manifest read ahead fails its taker as a direct read does.
 */
@Timeout(60)
class ManifestsAheadTest {
    private static final int CS = 64 << 10;
    private static final int BLOCK = RepositoryConfig.BLOCK_SIZE;

    @TempDir
    Path dir;

    @Test
    void readAheadOrNotEachBlockTakesItsManifestAndADamagedOneFailsItsTaker() throws Exception {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 1 << 20));
        byte[] content = Points.random(12 * BLOCK, 21); // twelve blocks
        java.util.Arrays.fill(content, BLOCK, 2 * BLOCK, (byte) 0); // the second of zeroes
        try (Repository r = Repository.open(dir, false)) {
            long id = Points.commit(r, "vda", content);
            Point p = r.points().get(id);
            Geometry g = p.meta().geometry();
            HashList index = r.points().index(p);
            PackStore packs = r.packs();
            ManifestsAhead ahead = new ManifestsAhead(packs, g, index);
            assertEquals(12, index.count());
            for (int b = 0; b < index.count() + 2; b += 2) { // every other block, and past the end
                ahead.readAhead(b);
            }
            for (int b = 0; b < index.count(); b++) {
                assertArrayEquals(packs.manifest(g, index, b).bytes(), ahead.take(b).bytes(), "block " + b);
            }
            Points.damage(r, EntryType.MANIFEST, index.get(2));
            String direct = assertThrows(BadEntryException.class, () -> packs.manifest(g, index, 2)).getMessage();
            ManifestsAhead again = new ManifestsAhead(packs, g, index);
            again.readAhead(2);
            assertEquals(direct, assertThrows(BadEntryException.class, () -> again.take(2)).getMessage());
        }
    }
}
