package org.jblksnap.backup;

import static org.jblksnap.repo.Points.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.jblksnap.repo.AtomicFiles;
import org.jblksnap.repo.BadEntryException;
import org.jblksnap.repo.EntryType;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.Points;
import org.jblksnap.repo.PruneReport;
import org.jblksnap.repo.Pruner;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Verify and prune on repositories written straight from memory: damaged packs and entries,
 * what crashes leave, and packs rewritten by prune. Chunks are 4 KiB and packs close at
 * 64 KiB, so that a pack of random chunks holds 16 of them.
 */
class PackMaintenanceTest {
    private static final int CS = 4 << 10;
    private static final int CHUNKS = 64;

    @TempDir
    Path dir;

    private final Progress quiet = Progress.quiet(new PrintStream(PrintStream.nullOutputStream()));

    private Path repoDir() {
        return dir.resolve("repo");
    }

    private Repository open(boolean exclusive) throws IOException {
        if (!Files.exists(repoDir())) {
            Repository.create(repoDir(), RepositoryConfig.of(CS, RepositoryConfig.MIN_PACK_SIZE));
        }
        return Repository.open(repoDir(), exclusive);
    }

    private VerifyReport verify(Repository repo) throws IOException {
        return new Verifier(repo, quiet, 2).verify(null);
    }

    private List<Path> packs() throws IOException {
        try (Stream<Path> s = Files.walk(repoDir().resolve("packs"))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".pack") && !AtomicFiles.isTemporary(p)).sorted()
                    .toList();
        }
    }

    /** Restores the point with Restorer and checks it byte for byte. */
    private void assertRestores(Repository repo, long point, byte[] expected) throws IOException {
        Path out = dir.resolve("restored-" + point);
        new Restorer(repo, quiet, 2).restore(point, out);
        assertArrayEquals(expected, Files.readAllBytes(out), "point " + point);
    }

    /** Commits the content as a point of vda; returns its id. */
    private long commit(byte[] content) throws IOException {
        try (Repository r = open(false)) {
            return Points.commit(r, "vda", content);
        }
    }

    /** The pack that holds chunk c of the content. */
    private Path packOfChunk(byte[] content, int c) throws IOException {
        return Points.withRepository(repoDir(), r -> Points.packOf(r, EntryType.CHUNK, Hash.of(content, c * CS, CS)));
    }

    /** 64 random chunks; those from first to last (exclusive) with other content. */
    private static byte[] content(int first, int last, long seed) {
        byte[] b = random(CHUNKS * CS, 1);
        System.arraycopy(random((last - first) * CS, seed), 0, b, first * CS, (last - first) * CS);
        return b;
    }

    @Test
    void aChunkDamagedInsideAPackIsFoundWithEveryPointUsingIt() throws IOException {
        byte[] one = content(0, 0, 0);
        byte[] two = content(10, 12, 2);
        Hash shared;
        long p1;
        long p2;
        try (Repository r = open(false)) {
            p1 = Points.commit(r, "vda", one);
            p2 = Points.commit(r, "vda", two);
            shared = Hash.of(one, 30 * CS, CS);
            Points.damage(r, EntryType.CHUNK, shared);
        }
        try (Repository r = open(false)) {
            VerifyReport v = verify(r);
            assertEquals(1, v.problems().size(), v.format());
            String p = v.problems().getFirst();
            assertTrue(p.startsWith("chunk " + shared.hex() + ": ") && p.contains(Points.packOf(r, EntryType.CHUNK, shared)
                    .toString()) && p.endsWith("(used by points " + Math.min(p1, p2) + ", " + Math.max(p1, p2) + ")"), p);
            assertEquals(0, v.unusedEntries(), v.format());
            assertFalse(new Verifier(r, quiet, 2).verify(p2).ok(), "one point's check reads what it uses");
            BadEntryException e = assertThrows(BadEntryException.class,
                    () -> new Restorer(r, quiet, 2).restore(p1, dir.resolve("bad")));
            assertEquals(shared, e.hash());
        }
    }

    @Test
    void aPackCutShortOrWithADamagedIndexIsNamedByVerify() throws IOException {
        byte[] one = content(0, 0, 0);
        long id = commit(one);
        Path cut = packOfChunk(one, 0);
        Path damaged = packOfChunk(one, 63);
        assertFalse(cut.equals(damaged));
        try (FileChannel ch = FileChannel.open(cut, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        byte[] raw = Files.readAllBytes(damaged);
        raw[raw.length - 40] ^= 1; // in the index
        Files.write(damaged, raw);
        try (Repository r = open(false)) {
            VerifyReport v = verify(r);
            assertFalse(v.ok());
            assertTrue(v.problems().contains("pack " + cut + ": cut short or unfinished: no footer at its end"), v.format());
            assertTrue(v.problems().contains("pack " + damaged + ": index checksum mismatch"), v.format());
            // the persistent index names the damaged-index pack's entries, which read back: only the cut pack's are missing
            String missing = "chunk " + Hash.of(one, 0, CS).hex() + ": missing (1 damaged pack could not be read: ";
            assertTrue(v.problems().stream().anyMatch(p -> p.startsWith(missing) && p.endsWith("(used by point " + id + ")")),
                    v.format());
        }
    }

    @Test
    void whatACrashLeavesIsCleanForVerifyCountedAsUnusedAndRemovedByPrune() throws IOException {
        byte[] one = content(0, 0, 0);
        long stored = 0;
        long id;
        try (Repository r = open(false)) {
            id = Points.commit(r, "vda", one);
            // a killed run: packs finished, one left unfinished, no point
            for (int i = 0; i < 40; i++) {
                byte[] b = random(CS, 100 + i);
                stored += r.packs().put(EntryType.CHUNK, Hash.of(b, 0, CS), b, 0, CS) > 0 ? 1 : 0;
            }
        }
        List<Path> finished = packs();
        Path unfinished = repoDir().resolve("packs/00/" + AtomicFiles.TEMP_PREFIX + "0".repeat(32) + ".pack");
        try (Repository holder = open(false); Repository r = open(false)) { // not alone: leftovers stay
            Files.createDirectories(unfinished.getParent());
            Files.write(unfinished, random(30_000, 5));
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
            assertTrue(v.unusedEntries() >= 32 && v.unusedEntries() < stored, "finished packs only: " + v.format());
            assertTrue(Files.exists(unfinished));
        }
        try (Repository r = open(true)) {
            assertEquals(1, r.removedTemporaries(), "the unfinished pack");
            PruneReport p = Pruner.prune(r, 1);
            assertEquals(List.of(), p.removedPoints());
            assertTrue(p.removedPacks() >= 2 && p.removedEntries() >= 32, p.format());
            assertTrue(packs().size() < finished.size());
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
            assertEquals(0, v.unusedEntries(), v.format());
            assertRestores(r, id, one);
        }
    }

    @Test
    void pruneRewritesAPartlyUsedPackAndEveryKeptPointRestoresByteForByte() throws IOException {
        byte[] x = content(0, 0, 0);
        byte[] y = content(0, 40, 2);
        byte[] z = Arrays.copyOf(x, 16 * CS);
        List<Long> ids = new ArrayList<>();
        try (Repository r = open(false)) {
            // packs: x's chunks 0-15, 16-31, 32-47, 48-63, then x's manifest alone (the last pack was full);
            // y's new chunks 0-15, 16-31, 32-39 and its manifest; z's manifest (its chunks are x's first 16)
            ids.add(Points.commit(r, "vda", x));
            ids.add(Points.commit(r, "vda", y));
            ids.add(Points.commit(r, "vdb", z));
            assertEquals(9, packs().size(), packs().toString());
        }
        try (Repository r = open(true)) {
            PruneReport p = Pruner.prune(r, 1);
            assertEquals(ids.subList(0, 1), p.removedPoints());
            assertEquals(ids.subList(1, 3), p.keptPoints());
            // x's 16-31 and its manifest go with their packs; half of 32-47 is unused: rewritten
            assertEquals(2, p.removedPacks(), p.format());
            assertEquals(1, p.rewrittenPacks(), p.format());
            assertEquals(16 + 1 + 8, p.removedEntries(), p.format());
            assertEquals(0, p.unusedEntriesLeft(), p.format());
            assertTrue(p.freedBytes() > 24L * CS, p.format());
            assertEquals(7, packs().size());
            assertRestores(r, ids.get(1), y);
            assertRestores(r, ids.get(2), z);
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
            assertEquals(0, v.unusedEntries(), v.format());
            PruneReport again = Pruner.prune(r, 1);
            assertEquals(0, again.removedPacks() + again.rewrittenPacks(), again.format());
        }
    }

    @Test
    void aCrashBetweenRewritingAPackAndDeletingTheOldOneLeavesCopiesNeverALoss() throws IOException {
        byte[] x = content(0, 0, 0);
        long id = commit(x);
        Path pack = packOfChunk(x, 0);
        String name = pack.getFileName().toString();
        Path copy = pack.resolveSibling(name.substring(0, 2) + "f".repeat(30) + ".pack");
        Files.copy(pack, copy);
        int entries;
        try (Repository r = open(false)) {
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
            entries = (int) v.unusedEntries();
            assertTrue(entries >= 16, "every entry of one copy is unused: " + v.format());
            assertRestores(r, id, x);
        }
        try (Repository r = open(true)) {
            PruneReport p = Pruner.prune(r, 1);
            assertEquals(1, p.removedPacks(), p.format());
            assertEquals(entries, p.removedEntries(), p.format());
            assertEquals(1, Stream.of(pack, copy).filter(Files::exists).count(), "one copy is left");
            assertEquals(0, verify(r).unusedEntries());
            assertRestores(r, id, x);
        }
    }

    @Test
    void pruneKeepsAndReadsUseTheGoodCopyOfAnEntryWhoseReadCopyIsDamaged() throws IOException {
        byte[] x = content(0, 0, 0);
        long id = commit(x);
        Hash first = Hash.of(x, 0, CS);
        Path pack = packOfChunk(x, 0);
        String name = pack.getFileName().toString();
        Files.copy(pack, pack.resolveSibling(name.substring(0, 2) + "f".repeat(30) + ".pack"));
        try (Repository r = open(false)) {
            Points.damage(r, EntryType.CHUNK, first); // the copy reads use
        }
        try (Repository r = open(true)) {
            PruneReport p = Pruner.prune(r, 1);
            assertEquals(1, p.rewrittenPacks(), "the duplicate pack keeps only the good copy: " + p.format());
            assertEquals(2, Points.copiesOf(r, EntryType.CHUNK, first), "both copies are left");
            assertEquals(1, Points.copiesOf(r, EntryType.CHUNK, Hash.of(x, CS, CS)), "an undamaged duplicate is removed");
            assertFalse(verify(r).ok(), "verify still reports the damaged copy");
            assertRestores(r, id, x); // reads fall back to the good copy
        }
    }
}
