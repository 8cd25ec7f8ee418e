package org.jblksnap.backup;

import static org.jblksnap.repo.Points.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.DirectoryStore;
import org.jblksnap.repo.KeyFiles;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.PointMeta;
import org.jblksnap.repo.PointStats;
import org.jblksnap.repo.Points;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.repo.Unlock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Copying points between repositories of different keys (plain, encrypted, plain again): every
 * copy reads back byte for byte and verifies, keeps the point's time and stats, names its origin
 * and its parent's copy; a second copy copies nothing, and after one new point reads and stores
 * only that point's new chunks.
 */
class PointCopierTest {
    private static final int CS = 16 << 10;
    private static final int BLOCK = RepositoryConfig.BLOCK_SIZE;
    private static final PointStats STATS = new PointStats(123, 4, 5, 678, 9, 1.5, null);

    @TempDir
    Path dir;

    private static Progress quiet() {
        return Progress.quiet(new PrintStream(OutputStream.nullOutputStream()));
    }

    private KeyFiles password(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return new KeyFiles(f, null);
    }

    private Repository openOrCreate(String name, RepositoryConfig config, KeyFiles keys) throws IOException {
        return Repository.openOrCreate(new DirectoryStore(dir.resolve(name)), config, keys);
    }

    private Repository open(String name, Unlock keys) throws IOException {
        return Repository.open(new DirectoryStore(dir.resolve(name)), false, keys);
    }

    private PointCopier.Report copy(Repository from, Repository to) throws IOException {
        return new PointCopier(from, to, quiet(), 3).copy(PointCopier.select(from, null, null));
    }

    private Map<String, byte[]> files(String name) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> all = Files.walk(dir.resolve(name))) {
            for (Path p : (Iterable<Path>) all.filter(Files::isRegularFile)::iterator) {
                m.put(p.toString(), Files.readAllBytes(p));
            }
        }
        return m;
    }

    /** The point of to that is the copy of point id of another repository. */
    private static Point copyOf(Repository to, long id) throws IOException {
        return to.points().list().stream().filter(p -> p.meta().origin().point() == id).findFirst().orElseThrow();
    }

    /** Every point of to that is a copy reads back as its source point, with its time, stats and device. */
    private static void assertCopies(Repository from, Repository to, Map<Long, byte[]> contents) throws IOException {
        for (Point t : to.points().list()) {
            PointMeta.Origin o = t.meta().origin();
            assertEquals(PointCopier.identity(from), o.repository());
            Point s = from.points().get(o.point());
            assertEquals(s.meta().created(), t.meta().created());
            assertEquals(s.meta().stats(), t.meta().stats());
            assertEquals(s.meta().device(), t.meta().device());
            assertArrayEquals(Points.read(from, s.id()), Points.read(to, t.id()), "point " + t.id());
            byte[] expected = contents.get(s.id());
            if (expected != null) {
                assertArrayEquals(expected, Points.read(to, t.id()), "point " + t.id());
            }
        }
        VerifyReport v = new Verifier(to, quiet(), 2).verify(null);
        assertTrue(v.ok(), v.problems().toString());
        assertEquals(0, v.unusedEntries(), "nothing stored that no point uses");
    }

    @Test
    void plainToEncryptedToPlainCopiesOnlyWhatIsNew() throws IOException {
        // a: plain, two points of vda (the second incremental to the first), one of vdb
        byte[] v1 = random(3 * BLOCK + 5 * CS, 1);
        java.util.Arrays.fill(v1, 2 * BLOCK, 3 * BLOCK, (byte) 0); // a block of zeroes
        byte[] v2 = v1.clone();
        System.arraycopy(random(CS, 2), 0, v2, BLOCK + 7 * CS, CS); // one chunk changed in block 1
        byte[] w1 = random(BLOCK + 4096, 3);
        Map<Long, byte[]> contents = new TreeMap<>();
        KeyFiles pwB = password("pw-b", "secret of b\n");
        KeyFiles keyC = KeyFiles.NONE;
        long a1;
        long a3;
        try (Repository a = openOrCreate("a", RepositoryConfig.of(CS, RepositoryConfig.MIN_PACK_SIZE), KeyFiles.NONE)) {
            a1 = Points.commit(a, "vda", v1, null, STATS);
            contents.put(a1, v1);
            contents.put(Points.commit(a, "vdb", w1, null, STATS), w1);
            a3 = Points.commit(a, "vda", v2, a1, STATS);
            contents.put(a3, v2);
        }
        try (Repository a = open("a", Unlock.NONE);
                Repository b = openOrCreate("b", a.config().likeThis(), pwB)) {
            assertTrue(b.config().encrypted());
            assertNotEquals(a.config().id(), b.config().id());
            PointCopier.Report r = copy(a, b);
            assertEquals(3, r.copied().size());
            assertEquals(0, r.skipped());
            assertEquals(3, b.points().ids().size());
            assertNull(copyOf(b, a1).meta().parent());
            assertEquals(copyOf(b, a1).id(), copyOf(b, a3).meta().parent(), "the parent's copy");
            assertNotEquals(Points.chunks(a, a1), Points.chunks(b, copyOf(b, a1).id()), "ids are keyed per repository");
            assertCopies(a, b, contents);
            // a3 differs from a1 in one chunk: only that chunk is read for it
            CopySummary third = r.copied().get(2);
            assertEquals(1, third.chunksRead(), third.format());
            assertEquals(CS, third.bytesRead(), third.format());
            assertEquals(2, third.reusedBlocks(), third.format()); // blocks 0 and 3; block 2 is zeroes
            assertEquals(1, third.newChunks(), third.format());
        }
        try (Repository b = open("b", pwB); Repository c = openOrCreate("c", b.config().likeThis(), keyC)) {
            assertTrue(!c.config().encrypted());
            assertEquals(3, copy(b, c).copied().size());
            assertCopies(b, c, Map.of());
            for (Point p : c.points().list()) {
                long inA = b.points().get(p.meta().origin().point()).meta().origin().point();
                assertArrayEquals(contents.get(inA), Points.read(c, p.id()));
            }
        }

        // again: nothing to copy, nothing written
        Map<String, byte[]> before = files("b");
        try (Repository a = open("a", Unlock.NONE); Repository b = open("b", pwB)) {
            PointCopier.Report r = copy(a, b);
            assertEquals(0, r.copied().size());
            assertEquals(3, r.skipped());
            assertEquals(3, copy(b, a).skipped(), "points copied the other way are not copied back");
        }
        assertEquals(before.keySet(), files("b").keySet());

        // a new point with two new chunks: only those are read and stored
        byte[] v3 = v2.clone();
        System.arraycopy(random(CS, 4), 0, v3, 5 * CS, CS);
        System.arraycopy(random(CS, 5), 0, v3, 3 * BLOCK + 2 * CS, CS);
        long a4;
        try (Repository a = open("a", Unlock.NONE)) {
            a4 = Points.commit(a, "vda", v3, a3, STATS);
            contents.put(a4, v3);
        }
        try (Repository a = open("a", Unlock.NONE); Repository b = open("b", pwB)) {
            PointCopier.Report r = copy(a, b);
            assertEquals(1, r.copied().size());
            assertEquals(3, r.skipped());
            CopySummary s = r.copied().getFirst();
            assertEquals(a4, s.sourcePoint());
            assertEquals(copyOf(b, a4).id(), s.targetPoint());
            assertEquals(copyOf(b, a3).id(), s.parent());
            assertEquals(2, s.chunksRead(), s.format());
            assertEquals(2L * CS, s.bytesRead(), s.format());
            assertEquals(2, s.newChunks(), s.format());
            assertEquals(1, s.reusedBlocks(), s.format()); // block 1, as in a3
            assertTrue(s.storedBytes() > 2L * CS && s.storedBytes() < 2L * CS + 2 * 4 * (BLOCK / CS * 32),
                    "two chunks and two manifests: " + s.format());
            assertCopies(a, b, contents);
        }
        try (Repository b = open("b", pwB); Repository c = open("c", Unlock.NONE)) {
            PointCopier.Report r = copy(b, c);
            assertEquals(1, r.copied().size());
            assertEquals(2, r.copied().getFirst().chunksRead());
            assertCopies(b, c, Map.of());
            assertArrayEquals(v3, Points.read(c, c.points().latest("vda").orElseThrow().id()));
        }
    }

    /** Issue 13: a version-2 repository (before encryption) is read by copy, into a new version-3 one, encrypted. */
    @Test
    void aVersionTwoRepositoryIsCopiedIntoAnEncryptedVersionThreeOne() throws IOException {
        RepositoryConfig v2 = new RepositoryConfig(RepositoryConfig.FORMAT, 2, BLOCK, CS, RepositoryConfig.MIN_PACK_SIZE,
                "sha256", "zstd", 3, null);
        Repository.create(new DirectoryStore(dir.resolve("old")), v2);
        byte[] v1 = random(2 * BLOCK + 3 * CS, 5);
        byte[] v2Content = v1.clone();
        System.arraycopy(random(CS, 6), 0, v2Content, 3 * CS, CS);
        Map<Long, byte[]> contents = new TreeMap<>();
        try (Repository old = open("old", Unlock.NONE)) {
            assertEquals(2, old.config().version());
            long first = Points.commit(old, "vda", v1, null, STATS);
            contents.put(first, v1);
            contents.put(Points.commit(old, "vda", v2Content, first, STATS), v2Content);
        }
        KeyFiles pw = password("pw-new", "secret of new\n");
        try (Repository old = open("old", Unlock.NONE); Repository moved = openOrCreate("new", old.config().likeThis(), pw)) {
            assertEquals(RepositoryConfig.VERSION, moved.config().version());
            assertTrue(moved.config().encrypted());
            assertEquals(2, copy(old, moved).copied().size());
            List<Point> copies = moved.points().list();
            assertEquals(copies.getFirst().id(), copies.getLast().meta().parent(), "the parent's copy");
            assertCopies(old, moved, contents);
        }
    }

    @Test
    void aWrongPasswordOrTheSameRepositoryWritesNothing() throws IOException {
        KeyFiles pw = password("pw", "right\n");
        try (Repository a = openOrCreate("a", RepositoryConfig.of(CS, RepositoryConfig.MIN_PACK_SIZE), KeyFiles.NONE);
                Repository b = openOrCreate("b", a.config().likeThis(), pw)) {
            Points.commit(a, "vda", random(BLOCK, 9));
            assertThrows(InvalidArgumentException.class, () -> new PointCopier(a, a, quiet(), 1));
            assertThrows(InvalidArgumentException.class, () -> PointCopier.select(a, "vdz", null));
            assertThrows(IOException.class, () -> PointCopier.select(a, null, "7"));
        }
        Map<String, byte[]> before = files("b");
        assertThrows(IOException.class, () -> open("b", password("bad", "wrong\n")).close());
        assertEquals(before.keySet(), files("b").keySet());
        try (Repository a = open("a", Unlock.NONE);
                Repository other = openOrCreate("d", RepositoryConfig.of(2 * CS, RepositoryConfig.MIN_PACK_SIZE),
                        KeyFiles.NONE)) {
            assertThrows(InvalidArgumentException.class, () -> new PointCopier(a, other, quiet(), 1),
                    "chunk sizes differ");
        }
    }
}
