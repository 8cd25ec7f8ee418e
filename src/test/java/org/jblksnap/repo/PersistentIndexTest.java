package org.jblksnap.repo;

import static org.jblksnap.repo.Points.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The persistent index (docs/REPOSITORY.md, "Persistent index"): each run that stores packs
 * writes an index object before its commit, and a later process takes the packs' entries from
 * it instead of their footers; without it, or with a damaged one, the footers serve as before.
 * Here every pack's footer is made unreadable after the runs: the points still read back
 * while the index objects are there, which shows they are what the catalogue was built from.
 */
class PersistentIndexTest {
    private static final int CS = 4 << 10;

    @TempDir
    Path dir;

    private Path repo() {
        return dir.resolve("repo");
    }

    private List<Path> files(String under, String suffix) throws IOException {
        try (Stream<Path> s = Files.walk(repo().resolve(under))) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)
                    && !p.getFileName().toString().startsWith(".")).sorted().toList();
        }
    }

    /** Overwrites the end magic of every pack: its footer no longer reads, its entries do. */
    private void breakFooters() throws IOException {
        for (Path p : files("packs", ".pack")) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap("XXXXXXXX".getBytes()), ch.size() - 8);
            }
        }
    }

    private void check(KeyFiles keys, long[] ids, byte[][] contents, boolean expectDamaged) throws IOException {
        try (Repository r = Repository.open(new DirectoryStore(repo()), false, keys)) {
            Map<String, String> damaged = r.packs().damagedPacks();
            assertEquals(expectDamaged, !damaged.isEmpty(), damaged.toString());
            if (!expectDamaged) {
                for (int i = 0; i < ids.length; i++) {
                    assertArrayEquals(contents[i], Points.read(r, ids[i]), "point " + ids[i]);
                }
            }
        }
    }

    private void runs(KeyFiles keys) throws IOException {
        byte[][] contents = {random(3 * RepositoryConfig.BLOCK_SIZE, 1), random(RepositoryConfig.BLOCK_SIZE + 3 * CS, 2)};
        long[] ids = new long[2];
        for (int i = 0; i < 2; i++) {
            try (Repository r = Repository.openOrCreate(new DirectoryStore(repo()),
                    RepositoryConfig.of(CS, RepositoryConfig.MIN_PACK_SIZE), keys)) {
                ids[i] = Points.commit(r, "vda", contents[i]);
            }
        }
        assertTrue(files("packs", ".pack").size() > 10, "many packs");
        assertEquals(2, files("index", ".idx").size(), "one index object per run");
        breakFooters();
        check(keys, ids, contents, false);

        // A damaged index object is skipped: its packs are read by their (broken) footers.
        Path first = files("index", ".idx").getFirst();
        byte[] b = Files.readAllBytes(first);
        b[b.length / 2] ^= 1;
        Files.write(first, b);
        check(keys, ids, contents, true);
        Files.delete(first);
        check(keys, ids, contents, true);
    }

    /**
     * A prune merges the index objects into one that names every pack there, including those
     * no index object named (a killed run's; here its object deleted) and the packs a rewrite
     * made, and none it deleted: after it the footers are not needed to read any point.
     */
    @Test
    void aPruneMergesTheIndexIntoOneObjectNamingEveryPack() throws IOException {
        byte[][] contents = new byte[4][];
        long[] ids = new long[4];
        for (int i = 0; i < 4; i++) {
            contents[i] = random(2 * RepositoryConfig.BLOCK_SIZE, 10 + i);
            try (Repository r = Repository.openOrCreate(new DirectoryStore(repo()),
                    RepositoryConfig.of(CS, RepositoryConfig.MIN_PACK_SIZE), KeyFiles.NONE)) {
                ids[i] = Points.commit(r, i < 2 ? "vda" : "vdb", contents[i]);
            }
        }
        assertEquals(4, files("index", ".idx").size());
        Files.delete(files("index", ".idx").get(3)); // as if that run was killed before its index
        PruneReport report;
        try (Repository p = Repository.openForPrune(repo())) {
            report = Pruner.prune(p, 1); // removes the first point of each device
        }
        assertTrue(report.removedPacks() > 0, report.format());
        assertEquals(1, files("index", ".idx").size(), report.format());
        Path merged = files("index", ".idx").getFirst();
        try (Repository p = Repository.openForPrune(repo())) {
            Pruner.prune(p, 1);
        }
        assertEquals(List.of(merged), files("index", ".idx"), "a prune with nothing to do keeps the one object");
        breakFooters();
        try (Repository r = Repository.open(new DirectoryStore(repo()), false, KeyFiles.NONE)) {
            assertEquals(Map.of(), r.packs().damagedPacks(), "every pack was taken from the index");
            assertArrayEquals(contents[1], Points.read(r, ids[1]));
            assertArrayEquals(contents[3], Points.read(r, ids[3]));
        }
    }

    @Test
    void aLaterProcessReadsTheIndexNotTheFooters() throws IOException {
        runs(KeyFiles.NONE);
    }

    @Test
    void theIndexOfAnEncryptedRepositoryIsSealed() throws IOException {
        Path pw = Files.writeString(dir.resolve("pw"), "pw");
        runs(new KeyFiles(pw, null));
        byte[] index = Files.readAllBytes(files("index", ".idx").getFirst());
        assertFalse(new String(index, java.nio.charset.StandardCharsets.ISO_8859_1).contains("packs/"),
                "pack names are sealed");
    }
}
