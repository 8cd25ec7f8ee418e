package org.jblksnap.repo;

import static org.jblksnap.repo.Points.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Verifier;
import org.jblksnap.backup.VerifyReport;
import org.jblksnap.repo.crypto.KeyException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Format version 3 with encryption: what a backup stores is sealed (pack entries, pack indexes,
 * points) and named by keyed ids; it reads back only with the repository's key, and any change
 * to what the store holds fails authentication where it is read, naming the object. A
 * version-2 repository is still read and written.
 */
class EncryptedRepositoryTest {
    private static final int CS = 4 << 10;
    private static final int BLOCK = RepositoryConfig.BLOCK_SIZE;

    @TempDir
    Path dir;

    private Path repoDir() {
        return dir.resolve("repo");
    }

    private KeyFiles password(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return new KeyFiles(f, null);
    }

    private Repository create(KeyFiles keys) throws IOException {
        return Repository.openOrCreate(new DirectoryStore(repoDir()), RepositoryConfig.of(CS,
                RepositoryConfig.MIN_PACK_SIZE), keys);
    }

    /** A device of random blocks, with a recognisable text block in the middle. */
    private static byte[] device() {
        byte[] b = random(3 * BLOCK + 5 * CS, 7);
        byte[] text = "jblksnap plaintext marker ".repeat(BLOCK / 26).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(text, 0, b, BLOCK, text.length);
        return b;
    }

    private Map<String, byte[]> files() throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> all = Files.walk(repoDir())) {
            for (Path p : (Iterable<Path>) all.filter(Files::isRegularFile)::iterator) {
                m.put(repoDir().relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return m;
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static VerifyReport verify(Repository r) throws IOException {
        return new Verifier(r, Progress.quiet(new PrintStream(OutputStream.nullOutputStream())), 2).verify(null);
    }

    @Test
    void whatIsStoredIsSealedAndReadsBackOnlyWithTheKey() throws IOException {
        KeyFiles pw = password("pw", "correct horse");
        byte[] content = device();
        long id;
        Hash firstChunk;
        try (Repository r = create(pw)) {
            assertTrue(r.config().encrypted());
            assertEquals(3, r.config().version());
            id = Points.commit(r, "secret-device-name", content);
            firstChunk = Points.chunks(r, id).getFirst();
            assertArrayEquals(content, Points.read(r, id));
            assertNotEquals(Hash.of(content, 0, CS), r.packs().id(content, 0, CS), "chunk ids are keyed, not SHA-256");
        }
        // Nothing in the store shows the content, its SHA-256 or the device's name.
        byte[] randomRun = Arrays.copyOfRange(content, 100, 164);
        java.nio.ByteBuffer sha256 = java.nio.ByteBuffer.allocate(Hash.BYTES);
        Hash.of(content, 0, CS).write(sha256);
        byte[] sha = sha256.array();
        for (Map.Entry<String, byte[]> f : files().entrySet()) {
            byte[] b = f.getValue();
            assertTrue(!contains(b, randomRun) && !contains(b, sha)
                    && !contains(b, "secret-device-name".getBytes(StandardCharsets.UTF_8))
                    && !contains(b, "plaintext marker".getBytes(StandardCharsets.US_ASCII)), f.getKey() + " shows plaintext");
        }
        try (Repository r = Repository.open(new DirectoryStore(repoDir()), false, pw)) {
            assertArrayEquals(content, Points.read(r, id));
            assertEquals("secret-device-name", r.points().get(id).meta().device());
            assertTrue(verify(r).ok(), verify(r).problems().toString());
            assertTrue(r.packs().contains(EntryType.CHUNK, firstChunk));
        }
    }

    @Test
    void aWrongOrMissingPasswordOpensNothingAndWritesNothing() throws IOException {
        try (Repository r = create(password("pw", "right"))) {
            Points.commit(r, "vda", device());
        }
        Map<String, byte[]> before = files();
        KeyException wrong = assertThrows(KeyException.class,
                () -> Repository.open(new DirectoryStore(repoDir()), false, password("bad", "wrong")));
        assertTrue(wrong.getMessage().startsWith("wrong password"), wrong.getMessage());
        RepositoryException none = assertThrows(RepositoryException.class,
                () -> Repository.open(new DirectoryStore(repoDir()), false, Unlock.NONE));
        assertTrue(none.getMessage().contains("is encrypted"), none.getMessage());
        assertThrows(KeyException.class,
                () -> Repository.openOrCreate(new DirectoryStore(repoDir()), RepositoryConfig.of(CS), password("b", "x")));
        Map<String, byte[]> after = files();
        assertEquals(before.keySet(), after.keySet());
        before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k));
    }

    /**
     * A backup (or copy, or a job) into a new place with a password file that is missing or
     * empty fails before it makes anything: a directory left behind with packs/ and points/
     * would refuse the retry with the right file ("it is not empty").
     */
    @Test
    void aMissingOrEmptyPasswordFileMakesNoRepository() throws IOException {
        assertThrows(KeyException.class, () -> create(new KeyFiles(dir.resolve("no-such-file"), null)));
        assertTrue(Files.notExists(repoDir()), "nothing made at " + repoDir());
        assertThrows(KeyException.class, () -> create(password("empty", "")));
        assertTrue(Files.notExists(repoDir()), "nothing made at " + repoDir());
        try (Repository r = create(password("pw", "right"))) {
            assertTrue(r.config().encrypted());
        }
    }

    @Test
    void anAlteredEntryIsNamedByVerifyAndRefusedByReads() throws IOException {
        KeyFiles pw = password("pw", "pw");
        byte[] content = device();
        long id;
        Hash damaged;
        try (Repository r = create(pw)) {
            id = Points.commit(r, "vda", content);
            damaged = Points.chunks(r, id).get(3);
            Points.damage(r, EntryType.CHUNK, damaged);
        }
        try (Repository r = Repository.open(new DirectoryStore(repoDir()), false, pw)) {
            BadEntryException e = assertThrows(BadEntryException.class, () -> r.packs().chunk(damaged, CS));
            assertTrue(e.getMessage().contains("does not authenticate"), e.getMessage());
            VerifyReport v = verify(r);
            assertTrue(!v.ok() && v.problems().stream().anyMatch(p -> p.contains(damaged.hex())
                    && p.contains("does not authenticate")), v.problems().toString());
            assertTrue(v.problems().stream().anyMatch(p -> p.contains("point " + id) || p.contains("points " + id)),
                    v.problems().toString());
        }
    }

    @Test
    void aPackIndexOrPointMovedOrChangedDoesNotOpen() throws IOException {
        KeyFiles pw = password("pw", "pw");
        long first;
        long second;
        try (Repository r = create(pw)) {
            first = Points.commit(r, "vda", device());
            second = Points.commit(r, "vdb", random(BLOCK, 3));
        }
        // A point file passed off as another point.
        Path p1 = repoDir().resolve(PointStore.name(first));
        Path p2 = repoDir().resolve(PointStore.name(second));
        byte[] one = Files.readAllBytes(p1);
        Files.write(p2, one);
        try (Repository r = Repository.open(new DirectoryStore(repoDir()), false, pw)) {
            RepositoryException e = assertThrows(RepositoryException.class, () -> r.points().get(second));
            assertTrue(e.getMessage().contains("authentication failed for point-meta " + second), e.getMessage());
            assertEquals("vda", r.points().get(first).meta().device());
        }
        // A pack's index sealed for another pack: the pack counts as damaged.
        List<Path> packs;
        try (Stream<Path> s = Files.walk(repoDir().resolve("packs"))) {
            packs = s.filter(p -> p.getFileName().toString().endsWith(".pack")).sorted().toList();
        }
        String name = packs.get(0).getFileName().toString();
        Files.move(packs.get(0), Files.createDirectories(repoDir().resolve("packs/ff")).resolve("ff" + name.substring(2)));
        try (Repository r = Repository.open(new DirectoryStore(repoDir()), false, pw)) {
            Map<String, String> bad = r.packs().damagedPacks();
            assertEquals(1, bad.size(), bad.toString());
            assertTrue(bad.values().iterator().next().contains("authentication failed for pack-index"), bad.toString());
        }
    }

    @Test
    void aVersionTwoRepositoryIsStillReadAndWritten() throws IOException {
        RepositoryConfig v2 = new RepositoryConfig(RepositoryConfig.FORMAT, 2, BLOCK, CS, RepositoryConfig.MIN_PACK_SIZE,
                "sha256", "zstd", 3, null);
        Repository.create(new DirectoryStore(repoDir()), v2);
        assertTrue(Files.readString(repoDir().resolve("repository.json")).contains("\"version\" : 2"));
        byte[] content = device();
        long id;
        try (Repository r = Repository.open(repoDir(), false)) {
            id = Points.commit(r, "vda", content);
            assertEquals(Hash.of(content, 0, CS), r.packs().id(content, 0, CS), "version 2 names chunks by SHA-256");
        }
        try (Repository r = Repository.open(repoDir(), false)) {
            assertArrayEquals(content, Points.read(r, id));
            assertTrue(verify(r).ok());
        }
        byte[] point = Files.readAllBytes(repoDir().resolve(PointStore.name(id)));
        assertEquals(2, java.nio.ByteBuffer.wrap(point, 8, 4).getInt(), "its points stay version 2");
    }
}
