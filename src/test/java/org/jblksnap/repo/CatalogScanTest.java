package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pack that a prune deletes between the catalogue's listing and the read of its index is
 * gone, not damaged: counting it damaged made a concurrent backup fall back to a full read
 * ("the repository has damaged packs") and would have made verify report a problem that is
 * none (seen in TwoDaemonsOneBucketTest).
 */
@Timeout(60)
class CatalogScanTest {
    private static final int CS = 4096;

    @TempDir
    Path dir;

    @Test
    void aPackDeletedAfterTheListingIsGoneNotDamaged() throws Exception {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 64 << 10));
        byte[] kept = Points.random(64 * CS, 1);
        long id;
        long first;
        try (Repository r = Repository.open(dir, false)) {
            first = Points.commit(r, "vda", Points.random(64 * CS, 2));
            id = Points.commit(r, "vdb", kept);
        }
        try (Stream<Path> index = Files.list(dir.resolve("index"))) {
            for (Path p : index.toList()) {
                Files.delete(p); // the packs' own indexes are read, as for packs no index object names yet
            }
        }
        Path gone;
        try (Repository r = Repository.open(dir, false)) {
            gone = Points.packOf(r, EntryType.CHUNK, Points.chunks(r, first).getFirst());
        }
        boolean[] deleted = {false};
        ObjectStore store = Delegating.proxy(ObjectStore.class, new DirectoryStore(dir), (self, m, args, through) -> {
            Object r = through.call();
            if (m.getName().equals("list") && args[0].equals(PackCatalog.PREFIX) && !deleted[0]) {
                Files.delete(gone); // a prune's sweep, just after the listing
                deleted[0] = true;
            }
            return r;
        });
        try (Repository r = Repository.open(store, false)) {
            assertEquals(Map.of(), r.packs().damagedPacks());
            assertTrue(deleted[0]);
            assertArrayEquals(kept, Points.read(r, id));
        }
    }
}
