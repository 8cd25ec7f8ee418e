package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * New manifests are held and appended back to back ({@link PackAppender#MANIFEST_RUN}), so a
 * point's manifests are a few ranged reads of an object store instead of one per block; held
 * ones are deduplicated, durable at flush like any entry, and dropped with a handle closed
 * before it.
 */
@Timeout(60)
class ManifestRunsTest {
    private static final int CS = 4096;
    private static final int BLOCK = RepositoryConfig.BLOCK_SIZE;

    @TempDir
    Path dir;

    private static HashList randomManifest(Random rnd, int chunks) {
        HashList m = new HashList(chunks);
        for (int c = 0; c < chunks; c++) {
            m.set(c, new Hash(rnd.nextLong(), rnd.nextLong(), rnd.nextLong(), rnd.nextLong() | 1));
        }
        return m;
    }

    @Test
    void aPointsManifestsLieBackToBackAfterItsChunks() throws IOException {
        Path pw = Files.writeString(dir.resolve("pw"), "pw");
        byte[] content = Points.random(6 * BLOCK, 1);
        System.arraycopy(content, 0, content, 4 * BLOCK, BLOCK); // block 4 repeats block 0: one manifest for both
        try (Repository r = Repository.openOrCreate(new DirectoryStore(dir.resolve("repo")), RepositoryConfig.of(CS, 64 << 20),
                new KeyFiles(pw, null))) {
            assertTrue(r.packs().catalog().codec().isSealed());
            long id = Points.commit(r, "vda", content);
            List<List<PackFile.Entry>> packs = Points.packIndexes(r);
            assertEquals(1, packs.size(), "one pack of 64 MiB holds the point");
            List<EntryType> types = packs.get(0).stream().map(PackFile.Entry::type).toList();
            int first = types.indexOf(EntryType.MANIFEST);
            List<Integer> at = IntStream.range(0, types.size())
                    .filter(i -> types.get(i) == EntryType.MANIFEST).boxed().toList();
            assertEquals(5, at.size(), "five distinct manifests: at " + at + " of " + types.size() + " entries");
            assertTrue(types.subList(first, types.size()).stream().allMatch(t -> t == EntryType.MANIFEST),
                    "the manifests come after every chunk, back to back, not one after each block's chunks: at " + at);
            assertArrayEquals(content, Points.read(r, id));
        }
    }

    @Test
    void heldManifestsAreAppendedOnceARunIsHeldAndDroppedWithAHandleClosedBeforeAFlush() throws IOException {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 64 << 20));
        Random rnd = new Random(2);
        int chunks = BLOCK / CS; // 1024 ids, a manifest of 32 KiB: a run is held after 32 of them
        List<Hash> ids = new ArrayList<>();
        try (Repository r = Repository.open(new DirectoryStore(dir), false)) {
            PackStore packs = r.packs();
            HashList m = randomManifest(rnd, chunks);
            Hash first = packs.id(m);
            assertTrue(packs.putManifest(first, m) > 0);
            assertEquals(0, packs.putManifest(first, m), "a held manifest is not held twice");
            assertFalse(packs.contains(EntryType.MANIFEST, first), "held, not in a pack yet");
            assertThrows(IllegalStateException.class, () -> packs.appender().checkIdle(),
                    "a prune must not start while manifests are held");
            ids.add(first);
            while (!packs.contains(EntryType.MANIFEST, first)) {
                HashList next = randomManifest(rnd, chunks);
                ids.add(packs.id(next));
                packs.putManifest(ids.getLast(), next);
                assertTrue(ids.size() < 2 * PackAppender.MANIFEST_RUN / (chunks * Hash.BYTES), "a run is appended once held");
            }
            assertTrue(ids.stream().allMatch(h -> {
                try {
                    return packs.contains(EntryType.MANIFEST, h);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }), "the whole run is appended together");
            HashList last = randomManifest(rnd, chunks);
            Hash lastId = packs.id(last);
            packs.putManifest(lastId, last);
            assertFalse(packs.contains(EntryType.MANIFEST, lastId), "the next is held again");
        } // closed with no flush: the open pack and the held manifest are dropped
        try (Repository r = Repository.open(new DirectoryStore(dir), false)) {
            assertEquals(List.of(), Points.packIndexes(r), "no pack was finished without a flush");
            for (Hash h : ids) {
                assertFalse(r.packs().contains(EntryType.MANIFEST, h));
            }
        }
    }
}
