package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Verifier;
import org.jblksnap.backup.VerifyReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A prune beside backups, in one process ({@code docs/REPOSITORY.md#verify-and-prune}): a backup
 * that loaded the catalogue before a prune's marker and commits after it keeps a point that
 * restores after the sweep; a backup started after the marker stores again what condemned packs
 * hold; a backup whose lock lapsed (a zombie) commits nothing after a prune took it for dead.
 */
@Timeout(120)
class ConcurrentPruneTest {
    private static final int CS = 4096;
    private static final int CHUNKS = 64;

    @TempDir
    Path dir;

    private Path repo() {
        return dir.resolve("repo");
    }

    private static byte[] content(long seed) {
        return Points.random(CHUNKS * CS, seed);
    }

    private static Hash first(Repository r, byte[] content) {
        return r.packs().id(content, 0, CS);
    }

    private static VerifyReport verify(Repository r) throws IOException {
        return new Verifier(r, Progress.quiet(new PrintStream(PrintStream.nullOutputStream())), 2).verify(null);
    }

    @Test
    void aBackupThatLoadedTheCatalogueBeforeTheMarkerKeepsARestorablePointAfterTheSweep() throws IOException {
        byte[] a = content(1);
        byte[] b = content(2);
        byte[] c = content(3);
        Repository.create(repo(), RepositoryConfig.of(CS, 64 << 10));
        long pa;
        long pb;
        long pc;
        try (Repository r = Repository.open(repo(), false)) {
            pa = Points.commit(r, "vda", a);
            pb = Points.commit(r, "vda", b);
            pc = Points.commit(r, "vda", c);
        }
        long late;
        long early;
        try (Repository before = Repository.open(repo(), false)) {
            Hash a0 = first(before, a);
            assertTrue(before.packs().contains(EntryType.CHUNK, a0), "the catalogue is loaded before the prune");
            try (Repository p = Repository.openForPrune(repo())) {
                PruneReport first = Pruner.prune(p, 1);
                assertEquals(List.of(pa, pb), first.removedPoints());
                assertTrue(first.condemnedPacks() > 0, first.format());
                assertEquals(0, first.removedPacks(), "a backup was running: nothing is swept yet: " + first.format());
                assertEquals(1, first.waitingMarkers(), first.format());
            }
            try (Repository after = Repository.open(repo(), false)) {
                late = Points.commit(after, "vdc", b);
                assertEquals(2, Points.copiesOf(after, EntryType.CHUNK, first(after, b)),
                        "a backup started after the marker stores again what a condemned pack holds");
                assertArrayEquals(b, Points.read(after, late));
            }
            early = Points.commit(before, "vdb", a);
            assertEquals(1, Points.copiesOf(before, EntryType.CHUNK, a0),
                    "the backup that loaded the catalogue before refers to the condemned copy");
            try (Repository p = Repository.openForPrune(repo())) {
                PruneReport second = Pruner.prune(p, 1);
                assertEquals(0, second.removedPacks(), "the backup still runs: " + second.format());
                assertEquals(1, second.waitingMarkers(), second.format());
            }
        }
        try (Repository p = Repository.openForPrune(repo())) {
            PruneReport third = Pruner.prune(p, 1);
            assertEquals(List.of(), third.removedPoints());
            assertTrue(third.removedPacks() > 0, "b's old packs go: " + third.format());
            assertTrue(third.keptCondemnedPacks() > 0, "a's packs stay, point " + early + " uses them: " + third.format());
            assertEquals(0, third.waitingMarkers(), third.format());
        }
        try (Repository r = Repository.open(repo(), false)) {
            assertEquals(List.of(), Condemned.list(r.store()), "the marker is gone");
            assertEquals(List.of(pc, late, early), r.points().list().stream().map(Point::id).toList());
            assertArrayEquals(c, Points.read(r, pc));
            assertArrayEquals(b, Points.read(r, late));
            assertArrayEquals(a, Points.read(r, early));
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
            assertEquals(0, v.unusedEntries(), v.format());
        }
    }

    @Test
    void aBackupWhoseParentIsRemovedMeanwhileKeepsWhatItTookFromIt() throws IOException {
        byte[] a = content(1);
        Repository.create(repo(), RepositoryConfig.of(CS, 64 << 10));
        try (Repository r = Repository.open(repo(), false)) {
            Points.commit(r, "vda", a);
        }
        long q;
        long taken;
        try (Repository waiter = Repository.open(repo(), false)) {
            assertTrue(waiter.packs().contains(EntryType.CHUNK, first(waiter, a)));
            try (Repository r = Repository.open(repo(), false)) {
                Points.commit(r, "vda", content(2));
            }
            try (Repository p = Repository.openForPrune(repo())) {
                assertTrue(Pruner.prune(p, 1).condemnedPacks() > 0, "a's packs are condemned, the waiter runs");
            }
            q = Points.commit(waiter, "vdb", a); // by dedup into the condemned packs
        }
        try (Repository parentTaker = Repository.open(repo(), false)) {
            // an incremental backup takes point q as its parent: its index, by reference
            Point parent = parentTaker.points().get(q);
            HashList index = parentTaker.points().index(parent);
            try (Repository r = Repository.open(repo(), false)) {
                Points.commit(r, "vdb", content(3)); // so the retention removes q
            }
            try (Repository p = Repository.openForPrune(repo())) {
                PruneReport r = Pruner.prune(p, 1);
                assertTrue(r.removedPoints().contains(q), r.format());
                assertTrue(r.keptCondemnedPacks() > 0, "q, listed before its removal, needs a's packs: " + r.format());
                assertTrue(r.condemnedPacks() > 0 && r.waitingMarkers() > 0,
                        "condemned again, waiting for the backup that read q: " + r.format());
            }
            taken = parentTaker.commit(new PointMeta("vdb", a.length, parentTaker.blockSize(), parentTaker.chunkSize(),
                    java.time.Instant.now(), "gen", 4, q, "test", null), index);
            assertArrayEquals(a, Points.read(parentTaker, taken));
        }
        try (Repository p = Repository.openForPrune(repo())) {
            PruneReport r = Pruner.prune(p, 1);
            assertTrue(r.keptCondemnedPacks() > 0, "the backup's point needs a's packs: " + r.format());
            assertEquals(0, r.waitingMarkers(), r.format());
        }
        try (Repository r = Repository.open(repo(), false)) {
            assertArrayEquals(a, Points.read(r, taken));
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
        }
    }

    @Test
    void aPruneAloneSweepsAtOnceAndPrunesNeverOverlap() throws IOException {
        Repository.create(repo(), RepositoryConfig.of(CS, 64 << 10));
        try (Repository r = Repository.open(repo(), false)) {
            Points.commit(r, "vda", content(1));
            Points.commit(r, "vda", content(2));
        }
        try (Repository p = Repository.openForPrune(repo()); Repository reader = Repository.open(repo(), false)) {
            RepositoryException e = assertThrows(PruneConflictException.class, () -> Repository.openForPrune(repo()));
            assertTrue(e.getMessage().contains("is pruned by this process"), e.getMessage());
            assertThrows(RepositoryException.class, () -> Repository.open(repo(), true));
            assertArrayEquals(content(2), Points.read(reader, reader.points().latest("vda").orElseThrow().id()));
        }
        try (Repository p = Repository.openForPrune(repo())) {
            PruneReport r = Pruner.prune(p, 1);
            assertTrue(r.condemnedPacks() > 0 && r.removedPacks() == r.condemnedPacks(), r.format());
            assertEquals(0, r.waitingMarkers(), r.format());
        }
    }

    /**
     * A prune alone that first sweeps a marker left by an earlier prune (which counts what the
     * points it is about to remove use, for backups that may have taken one as a parent), then
     * removes those points and condemns their packs, sweeps those packs at once too: once the
     * points are gone and no holder is alive, what only they used is needed no more. (It kept
     * them all, so ConcurrentPruneS3Test's prune alone left hundreds of unused entries.)
     */
    @Test
    void aPruneAloneSweepsThePacksOfThePointsItRemovedAfterSweepingAnOlderMarker() throws IOException {
        Repository.create(repo(), RepositoryConfig.of(CS, 64 << 10));
        long second;
        long third;
        try (Repository r = Repository.open(repo(), false)) {
            Points.commit(r, "vda", content(1));
            second = Points.commit(r, "vda", content(2));
        }
        try (Repository waiter = Repository.open(repo(), false); Repository p = Repository.openForPrune(repo())) {
            assertEquals(1, Pruner.prune(p, 1).waitingMarkers(), "a marker left for the next prune");
        }
        try (Repository r = Repository.open(repo(), false)) {
            third = Points.commit(r, "vda", content(3));
        }
        try (Repository p = Repository.openForPrune(repo())) {
            PruneReport r = Pruner.prune(p, 1);
            assertEquals(List.of(second), r.removedPoints(), r.format());
            assertTrue(r.condemnedPacks() > 0, r.format());
            assertEquals(0, r.keptCondemnedPacks(), "nothing kept for the removed point: " + r.format());
            assertEquals(0, r.waitingMarkers(), r.format());
        }
        try (Repository r = Repository.open(repo(), false)) {
            assertArrayEquals(content(3), Points.read(r, third));
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
            assertEquals(0, v.unusedEntries(), v.format());
        }
    }

    /**
     * The sweep judges "a copy outside the condemned packs" by the packs themselves, not by the
     * copy its table holds: here the prune's table was read before a backup stored the content
     * of a condemned pack again (a new pack the table never learns of), so the table's only copy
     * is the condemned one; the new copy still lets the condemned pack go, and the backup's point
     * restores.
     */
    @Test
    void aCopyStoredAfterThePruneReadItsTableLetsTheCondemnedPackGo() throws IOException {
        byte[] a = content(1);
        Repository.create(repo(), RepositoryConfig.of(CS, 64 << 10));
        try (Repository r = Repository.open(repo(), false)) {
            Points.commit(r, "vda", a);
            Points.commit(r, "vda", content(2));
        }
        try (Repository waiter = Repository.open(repo(), false); Repository p = Repository.openForPrune(repo())) {
            PruneReport r = Pruner.prune(p, 1);
            assertTrue(r.condemnedPacks() > 0 && r.waitingMarkers() == 1, "a's packs wait for the waiter: " + r.format());
        }
        long[] stored = {-1};
        DirectoryStore d = new DirectoryStore(repo());
        ObjectStore store = Delegating.proxy(ObjectStore.class, d, (self, m, args, through) -> {
            if (m.getName().equals("liveLocks") && stored[0] < 0) {
                // after the prune read its table, before it lists the points to sweep by
                try (Repository b = Repository.open(repo(), false)) {
                    stored[0] = Points.commit(b, "vdb", a);
                    assertEquals(2, Points.copiesOf(b, EntryType.CHUNK, first(b, a)), "stored again");
                }
            }
            return through.call();
        });
        try (Repository p = Repository.open(store, ObjectStore.LockMode.PRUNE, Unlock.NONE)) {
            PruneReport r = Pruner.prune(p, 1);
            assertTrue(stored[0] > 0);
            assertTrue(r.removedPacks() > 0, "a's condemned packs go: " + r.format());
            assertEquals(0, r.keptCondemnedPacks(), "none is kept for a copy that exists elsewhere: " + r.format());
        }
        try (Repository r = Repository.open(repo(), false)) {
            assertEquals(1, Points.copiesOf(r, EntryType.CHUNK, first(r, a)));
            assertArrayEquals(a, Points.read(r, stored[0]));
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
        }
    }

    /**
     * A directory store with the lock of an object store (lock objects, staleness bound stale);
     * once hang is set, its lock objects are no longer rewritten (a process stopped, a host
     * cut off).
     */
    private static ObjectStore withObjectLocks(Path root, Duration stale, AtomicBoolean hang) {
        return Delegating.proxy(ObjectStore.class, new DirectoryStore(root), (self, m, args, through) -> {
            switch (m.getName()) {
                case "lock":
                    return ObjectLocks.acquire((ObjectStore) self, (ObjectStore.LockMode) args[0], stale);
                case "liveLocks":
                    return ObjectLocks.live((ObjectStore) self, stale);
                case "put":
                    if (hang.get() && ((String) args[0]).startsWith(ObjectLocks.PREFIX)) {
                        throw new IOException("the host is cut off");
                    }
                    break;
                default:
                    break;
            }
            return through.call();
        });
    }

    @Test
    void aBackupWhoseLockLapsedCommitsNothingAfterAPruneTookItForDead() throws Exception {
        Duration stale = Duration.ofSeconds(2);
        AtomicBoolean hung = new AtomicBoolean();
        AtomicBoolean never = new AtomicBoolean();
        byte[] a = content(1);
        Repository.create(repo(), RepositoryConfig.of(CS, 64 << 10));
        long first;
        long second;
        try (Repository r = Repository.open(repo(), false)) {
            first = Points.commit(r, "vda", a);
            second = Points.commit(r, "vda", content(2));
        }
        try (Repository zombie = Repository.open(withObjectLocks(repo(), stale, hung), ObjectStore.LockMode.SHARED,
                Unlock.NONE)) {
            assertTrue(zombie.packs().contains(EntryType.CHUNK, first(zombie, a)), "the catalogue is loaded");
            try (Repository live = Repository.open(withObjectLocks(repo(), stale, never), ObjectStore.LockMode.SHARED,
                    Unlock.NONE)) {
                try (Repository p = Repository.open(withObjectLocks(repo(), stale, never), ObjectStore.LockMode.PRUNE,
                        Unlock.NONE)) {
                    RepositoryException e = assertThrows(PruneConflictException.class, () -> Repository.open(
                            withObjectLocks(repo(), stale, never), ObjectStore.LockMode.PRUNE, Unlock.NONE));
                    assertTrue(e.getMessage().contains("that prunes it"), e.getMessage());
                    PruneReport r = Pruner.prune(p, 1);
                    assertEquals(List.of(first), r.removedPoints());
                    assertEquals(0, r.removedPacks(), "two live holders: the marker waits " + r.format());
                }
                hung.set(true);
                Thread.sleep(stale.toMillis() + 1500); // the zombie's object is stale; the live one's is rewritten
                try (Repository p = Repository.open(withObjectLocks(repo(), stale, never), ObjectStore.LockMode.PRUNE,
                        Unlock.NONE)) {
                    PruneReport r = Pruner.prune(p, 1);
                    assertEquals(0, r.removedPacks(), "the live backup still holds the marker: " + r.format());
                }
            }
            try (Repository p = Repository.open(withObjectLocks(repo(), stale, never), ObjectStore.LockMode.PRUNE,
                    Unlock.NONE)) {
                PruneReport r = Pruner.prune(p, 1);
                assertTrue(r.removedPacks() > 0, "the zombie's lock is stale and ignored: " + r.format());
            }
            RepositoryException refused = assertThrows(RepositoryException.class, () -> Points.commit(zombie, "vdb", a));
            assertTrue(refused.getMessage().contains("lapsed"), refused.getMessage());
        }
        try (Repository r = Repository.open(repo(), false)) {
            assertEquals(List.of(second), r.points().ids(), "the zombie committed nothing");
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
        }
    }
}
