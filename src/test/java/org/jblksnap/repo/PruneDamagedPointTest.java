package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Verifier;
import org.jblksnap.backup.VerifyReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A prune that finds a point it cannot read (its file damaged) does not sweep in that run: what
 * the point uses is unknown, and a point that exists is not gone. Here a backup that loaded its
 * catalogue before a marker condemned a's packs commits a point of a (by dedup into those
 * packs) and ends just as the next prune lists the holders, so the marker is ripe and the
 * prune lists that point only for its sweep; the point's file does not read. Before, it was
 * taken for removed: the sweep deleted a's packs and the point no longer restored once its
 * file was repaired (or, with only its index damaged, the prune failed half done).
 */
@Timeout(120)
class PruneDamagedPointTest {
    private static final int CS = 4096;

    @TempDir
    Path dir;

    /** Damages a point's file in place. */
    @FunctionalInterface
    interface Damage {
        void apply(Path file) throws IOException;
    }

    @Test
    void aKeptPointWhoseFileIsTruncatedKeepsItsPacks() throws Exception {
        aDamagedKeptPointKeepsItsPacks(file -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(24); // the header and a little of the metadata
            }
        });
    }

    @Test
    void aKeptPointWhoseIndexDoesNotReadKeepsItsPacks() throws Exception {
        aDamagedKeptPointKeepsItsPacks(file -> {
            byte[] b = Files.readAllBytes(file);
            b[b.length - 1] ^= 0x10; // the checksum: the metadata reads, the index does not
            Files.write(file, b);
        });
    }

    /**
     * The store failing to answer for that point (the network, on S3) is no damage: the prune
     * fails with the store's error instead of noting the point as unreadable, and sweeps nothing.
     */
    @Test
    void aPointTheStoreFailsToReadFailsThePruneAndKeepsItsPacks() throws Exception {
        aDamagedKeptPointKeepsItsPacks(null);
    }

    /** damage null: the file stays whole, and reading it fails as an unreachable store does. */
    private void aDamagedKeptPointKeepsItsPacks(Damage damage) throws Exception {
        Repository.create(dir, RepositoryConfig.of(CS, 64 << 10));
        byte[] a = Points.random(64 * CS, 1); // only point 1, then the damaged point, use it
        Set<Path> packsOfA = new TreeSet<>();
        long first;
        long second;
        long third;
        try (Repository r = Repository.open(dir, false)) {
            first = Points.commit(r, "vda", a);
            second = Points.commit(r, "vda", Points.random(64 * CS, 2));
            for (Hash h : Points.chunks(r, first)) {
                packsOfA.add(Points.packOf(r, EntryType.CHUNK, h));
            }
        }
        Repository waiter = Repository.open(dir, false);
        boolean[] waiterOpen = {true};
        long[] damaged = {-1};
        byte[][] saved = {null};
        try {
            assertTrue(waiter.packs().contains(EntryType.CHUNK, waiter.packs().id(a, 0, CS)), "catalogue loaded");
            try (Repository p = Repository.openForPrune(dir)) {
                PruneReport r = Pruner.prune(p, 1);
                assertEquals(List.of(first), r.removedPoints(), r.format());
                assertTrue(r.condemnedPacks() > 0 && r.waitingMarkers() == 1, "a's packs wait: " + r.format());
            }
            try (Repository r = Repository.open(dir, false)) {
                third = Points.commit(r, "vda", Points.random(64 * CS, 3)); // so the retention removes point 2
            }
            boolean[] armed = {false};
            ObjectStore store = Delegating.proxy(ObjectStore.class, new DirectoryStore(dir), (self, m, args, through) -> {
                if (damage == null && damaged[0] > 0 && m.getName().startsWith("get")
                        && args[0].equals(PointStore.name(damaged[0]))) {
                    throw new StoreAccessException("s3:http://127.0.0.1:1/b: cannot get " + args[0]
                            + ": lost the connection to 127.0.0.1:1 (Connection reset)", null);
                }
                if (armed[0] && m.getName().equals("liveLocks") && damaged[0] < 0) {
                    // after the prune listed the points, before it lists the holders: the backup
                    // commits, ends, and its point's file is damaged
                    damaged[0] = Points.commit(waiter, "vdb", a);
                    assertEquals(1, Points.copiesOf(waiter, EntryType.CHUNK, waiter.packs().id(a, 0, CS)),
                            "the point refers to the condemned copies");
                    waiterOpen[0] = false;
                    waiter.close();
                    Path file = dir.resolve(PointStore.name(damaged[0]));
                    saved[0] = Files.readAllBytes(file);
                    if (damage != null) {
                        damage.apply(file);
                    }
                }
                return through.call();
            });
            try (Repository p = Repository.open(store, ObjectStore.LockMode.PRUNE, Unlock.NONE)) {
                armed[0] = true;
                if (damage == null) {
                    StoreAccessException e = assertThrows(StoreAccessException.class, () -> Pruner.prune(p, 1));
                    assertTrue(e.getMessage().contains("cannot get " + PointStore.name(damaged[0])), e.getMessage());
                    assertTrue(packsOfA.stream().allMatch(Files::exists), "nothing of a is swept");
                    return;
                }
                PruneReport r = Pruner.prune(p, 1);
                assertTrue(damaged[0] > 0);
                assertEquals(List.of(second), r.removedPoints(), r.format());
                assertEquals(0, r.removedPacks(), "nothing is swept: " + r.format());
                assertTrue(r.notes().stream().anyMatch(n -> n.startsWith("no sweep: point " + damaged[0]
                        + " could not be read")), r.format());
            }
        } finally {
            if (waiterOpen[0]) {
                waiter.close();
            }
        }
        for (Path pack : packsOfA) {
            assertTrue(Files.exists(pack), "the damaged point's pack " + pack + " stays");
        }
        // Repaired, the point restores, and the next prune keeps what it uses.
        Files.write(dir.resolve(PointStore.name(damaged[0])), saved[0]);
        try (Repository p = Repository.openForPrune(dir)) {
            PruneReport r = Pruner.prune(p, 1);
            assertTrue(r.removedPacks() > 0, "point 2's packs go: " + r.format());
            assertTrue(r.keptCondemnedPacks() > 0, "a's packs stay: " + r.format());
            assertTrue(r.notes().stream().noneMatch(n -> n.startsWith("no sweep")), r.format());
        }
        try (Repository r = Repository.open(dir, false)) {
            assertEquals(List.of(third, damaged[0]), r.points().list().stream().map(Point::id).toList());
            assertArrayEquals(a, Points.read(r, damaged[0]));
            VerifyReport v = new Verifier(r, Progress.quiet(new PrintStream(PrintStream.nullOutputStream())), 1)
                    .verify(null);
            assertTrue(v.ok(), v.format());
        }
    }
}
