package org.jblksnap.backup.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryTest {
    private static final int BS = 64 << 10;

    @TempDir
    Path dir;

    private Path repoDir() {
        return dir.resolve("repo");
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static PointMeta meta(String device, long size, Long parent) {
        return new PointMeta(device, size, BS, Instant.parse("2025-01-02T03:04:05Z"), "gen", 3, parent, "test", null);
    }

    /** A point of `blocks` blocks whose block i holds random(seed i), or zeroes where seed < 0. */
    private static long commit(Repository repo, String device, long... seeds) throws IOException {
        PointIndex index = new PointIndex(seeds.length);
        for (int i = 0; i < seeds.length; i++) {
            if (seeds[i] < 0) {
                index.set(i, Hash.ZERO);
            } else {
                byte[] b = random(BS, seeds[i]);
                Hash h = Hash.of(b, 0, BS);
                repo.blocks().put(h, b, BS);
                index.set(i, h);
            }
        }
        return repo.commit(meta(device, (long) seeds.length * BS, null), index);
    }

    @Test
    void createOpenAndRefuseWhatIsNotARepository() throws IOException {
        assertThrows(IllegalArgumentException.class, () -> Repository.create(repoDir(), 100_000));
        Repository.create(repoDir(), BS);
        try (Repository r = Repository.open(repoDir(), false)) {
            assertEquals(BS, r.blockSize());
            assertTrue(r.points().list().isEmpty());
        }
        assertThrows(RepositoryException.class, () -> Repository.create(repoDir(), BS));
        Path other = Files.createDirectories(dir.resolve("other"));
        Files.writeString(other.resolve("x"), "x");
        RepositoryException e = assertThrows(RepositoryException.class, () -> Repository.openOrCreate(other, BS));
        assertTrue(e.getMessage().contains("not empty"), e.getMessage());
        assertThrows(RepositoryException.class, () -> Repository.open(dir.resolve("nothing"), false));
    }

    @Test
    void blocksAreStoredOnceCompressedAndChecked() throws IOException {
        try (Repository r = Repository.openOrCreate(repoDir(), BS)) {
            byte[] text = "a block of text that compresses well ".repeat(1000).getBytes();
            Hash h = Hash.of(text, 0, text.length);
            long stored = r.blocks().put(h, text, text.length);
            assertTrue(stored > 0 && stored < text.length / 10, "compressed to " + stored);
            assertEquals(0, r.blocks().put(h, text, text.length), "the second copy is not stored");
            assertArrayEquals(text, r.blocks().get(h));
            assertThrows(BadBlockException.class, () -> r.blocks().get(h, text.length + 1));

            Path file = r.blocks().path(h);
            Files.writeString(file, "garbage");
            BadBlockException bad = assertThrows(BadBlockException.class, () -> r.blocks().get(h));
            assertFalse(bad.missing());
            Files.delete(file);
            assertTrue(assertThrows(BadBlockException.class, () -> r.blocks().get(h)).missing());
        }
    }

    @Test
    void damagedContentUnderTheRightFrameIsFound() throws IOException {
        try (Repository r = Repository.openOrCreate(repoDir(), BS)) {
            byte[] a = random(BS, 1);
            byte[] b = random(BS, 2);
            Hash ha = Hash.of(a, 0, BS);
            Hash hb = Hash.of(b, 0, BS);
            r.blocks().put(ha, a, BS);
            r.blocks().put(hb, b, BS);
            Files.copy(r.blocks().path(hb), r.blocks().path(ha), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            BadBlockException e = assertThrows(BadBlockException.class, () -> r.blocks().get(ha));
            assertTrue(e.getMessage().contains("does not match its hash"), e.getMessage());
        }
    }

    @Test
    void pointsRoundTripWithGrowingIds() throws IOException {
        try (Repository r = Repository.openOrCreate(repoDir(), BS)) {
            long p1 = commit(r, "vda", 1, -1, 2);
            long p2 = commit(r, "vdb", 3);
            long p3 = commit(r, "vda", 1, 4, -1);
            assertEquals(List.of(1L, 2L, 3L), List.of(p1, p2, p3));
            Point p = r.points().latest("vda").orElseThrow();
            assertEquals(3, p.id());
            assertEquals(meta("vda", 3L * BS, null), p.meta());
            PointIndex idx = r.points().index(p);
            assertEquals(Hash.of(random(BS, 1), 0, BS), idx.get(0));
            assertEquals(Hash.of(random(BS, 4), 0, BS), idx.get(1));
            assertTrue(idx.get(2).isZero());
            assertEquals(2, idx.storedBlocks().size());
            assertEquals(List.of(2L), r.points().list("vdb").stream().map(Point::id).toList());
            assertThrows(RepositoryException.class, () -> r.points().get(9));
        }
    }

    @Test
    void aDamagedPointFileIsReportedByItsChecksum() throws IOException {
        try (Repository r = Repository.openOrCreate(repoDir(), BS)) {
            long id = commit(r, "vda", 1, 2);
            Path f = r.points().path(id);
            byte[] all = Files.readAllBytes(f);
            all[all.length - 40] ^= 1;
            Files.write(f, all);
            RepositoryException e = assertThrows(RepositoryException.class, () -> r.points().index(r.points().get(id)));
            assertTrue(e.getMessage().contains("checksum"), e.getMessage());
        }
    }

    @Test
    void leftoversOfInterruptedWritesAreIgnoredAndRemovedWhenAlone() throws IOException {
        Repository.create(repoDir(), BS);
        long id;
        try (Repository r = Repository.open(repoDir(), false)) {
            id = commit(r, "vda", 1);
            // what a crash leaves: a point written but never linked, a half-written block
            Files.write(repoDir().resolve("points").resolve(AtomicFiles.TEMP_PREFIX + "x"),
                    Files.readAllBytes(r.points().path(id)));
            Files.createDirectories(repoDir().resolve("blocks/ab"));
            Files.write(repoDir().resolve("blocks/ab").resolve(AtomicFiles.TEMP_PREFIX + "y"), new byte[100]);
            assertEquals(List.of(id), r.points().ids());
            long[] blocks = {0};
            r.blocks().forEach(h -> blocks[0]++);
            assertEquals(1, blocks[0]);
            try (Repository again = Repository.open(repoDir(), false)) {
                assertEquals(0, again.removedTemporaries(), "not alone: the first holder may be writing them");
            }
        }
        try (Repository r = Repository.open(repoDir(), false)) {
            assertEquals(2, r.removedTemporaries());
            assertEquals(List.of(id), r.points().ids());
        }
    }

    @Test
    void pruneNeedsExclusiveAccessThatSharedUseExcludes() throws IOException {
        try (Repository shared = Repository.openOrCreate(repoDir(), BS)) {
            assertThrows(IllegalStateException.class, () -> Pruner.prune(shared, 1));
            assertThrows(RepositoryException.class, () -> Repository.open(repoDir(), true));
        }
        try (Repository ex = Repository.open(repoDir(), true)) {
            assertTrue(ex.exclusive());
            assertThrows(RepositoryException.class, () -> Repository.open(repoDir(), false));
        }
    }

    @Test
    void pruneKeepsTheNewestPointsPerDeviceAndTheBlocksTheyUse() throws IOException {
        Repository.create(repoDir(), BS);
        try (Repository r = Repository.open(repoDir(), false)) {
            commit(r, "vda", 1, 2);       // 1
            commit(r, "vda", 1, 3);       // 2
            commit(r, "vdb", 2, 5);       // 3
            commit(r, "vda", 4, -1);      // 4
            commit(r, "vda", 1, 4);       // 5
        }
        try (Repository r = Repository.open(repoDir(), true)) {
            PruneReport rep = Pruner.prune(r, 2);
            assertEquals(List.of(1L, 2L), rep.removedPoints());
            assertEquals(List.of(3L, 4L, 5L), rep.keptPoints());
            assertEquals(1, rep.removedBlocks(), "only block 3 is used by no kept point");
            assertTrue(rep.freedBytes() > 0);
            for (long seed : new long[] {1, 2, 4, 5}) {
                byte[] b = random(BS, seed);
                assertArrayEquals(b, r.blocks().get(Hash.of(b, 0, BS)));
            }
            assertFalse(r.blocks().contains(Hash.of(random(BS, 3), 0, BS)));
            assertEquals(List.of(3L, 4L, 5L), r.points().ids());
            assertEquals(List.of(), Pruner.prune(r, 2).removedPoints());
        }
    }

    @Test
    void aPointReadsAsADevice() throws IOException {
        try (Repository r = Repository.openOrCreate(repoDir(), BS)) {
            long id = commit(r, "vda", 7, -1, 8);
            byte[] expected = new byte[3 * BS];
            System.arraycopy(random(BS, 7), 0, expected, 0, BS);
            System.arraycopy(random(BS, 8), 0, expected, 2 * BS, BS);
            PointImage img = PointImage.open(r, id);
            assertEquals(3L * BS, img.capacity());
            assertTrue(img.isReadOnly());
            for (long off : new long[] {0, 512, BS - 512, 2L * BS - 1024}) {
                ByteBuffer b = ByteBuffer.allocate(BS + 1024);
                img.read(off, b);
                assertEquals(b.capacity(), b.position());
                assertArrayEquals(java.util.Arrays.copyOfRange(expected, (int) off, (int) off + b.capacity()), b.array());
            }
            assertThrows(IOException.class, () -> img.write(0, ByteBuffer.allocate(512)));
            assertThrows(RuntimeException.class, () -> img.read(3L * BS - 512, ByteBuffer.allocate(1024)));
        }
    }
}
