package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.jblksnap.repo.BadEntryException;
import org.jblksnap.repo.EntryType;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.PointImage;
import org.jblksnap.repo.PointMeta;
import org.jblksnap.repo.PointStore;
import org.jblksnap.repo.Points;
import org.jblksnap.repo.PruneReport;
import org.jblksnap.repo.Pruner;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Backups of a qcow2 served by qemu-nbd with dirty bitmaps named as our server names them. */
@Timeout(300)
class BackupCycleTest {
    private static final int MIB = 1 << 20;
    private static final int SIZE = 32 * MIB;
    /** Chunks larger than qemu's 64 KiB bitmap granularity: incrementals complete chunks from the parent. */
    private static final int CS = 256 << 10;
    private static final String GEN = "6f1c2a";

    @TempDir
    Path dir;

    private final ByteArrayOutputStream notes = new ByteArrayOutputStream();
    private final Progress progress = Progress.quiet(new PrintStream(notes, true, StandardCharsets.UTF_8));

    private Path repoDir() {
        return dir.resolve("repo");
    }

    private static String bitmap(int n) {
        return "cbt-" + GEN + "-" + n;
    }

    private BackupSummary backup(QemuImage img, BackupRequest req, String... bitmaps) throws Exception {
        try (ServerProcess s = img.serve(bitmaps); Repository repo = Repository.openOrCreate(repoDir(), RepositoryConfig.of(CS, MIB))) {
            BackupRequest r = new BackupRequest(req.device(), s.address(), "", req.cbt(), req.dirtyBitmap(), req.full());
            return new BackupRunner(repo, progress, 4, 2).run(r);
        }
    }

    private static BackupRequest request(CbtRef cbt) {
        return BackupRequest.of("vda", null, "", cbt);
    }

    /** Restores the point to a file and checks it byte for byte, and reads it as a device too. */
    private void assertRestores(long point, Path expected) throws IOException {
        Path out = dir.resolve("restored-" + point + ".raw");
        try (Repository repo = Repository.open(repoDir(), false)) {
            RestoreSummary s = new Restorer(repo, progress, 2).restore(point, out);
            assertTrue(s.sparse());
            assertEquals(-1, Files.mismatch(expected, out), "point " + point + " restores to the image at its time");
            byte[] want = Files.readAllBytes(expected);
            PointImage img = PointImage.open(repo, point);
            ByteBuffer b = ByteBuffer.allocate(3 * MIB + 4096);
            img.read(5L * MIB - 4096, b);
            assertArrayEquals(java.util.Arrays.copyOfRange(want, 5 * MIB - 4096, 8 * MIB), b.array());
        }
    }

    /** The bytes of the repository chunks that the writes touched. */
    private static long touchedBytes(List<QemuImage.Write> writes) {
        BitSet chunks = new BitSet();
        for (QemuImage.Write w : writes) {
            chunks.set((int) (w.offset() / CS), (int) ((w.offset() + w.length() - 1) / CS) + 1);
        }
        return (long) chunks.cardinality() * CS;
    }

    @Test
    void cyclesOfRandomWritesAreBackedUpIncrementallyAndEveryPointRestoresExactly() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        Random rnd = new Random(42);
        img.write(img.randomWrites(rnd, 20, 2 * MIB));
        img.addBitmap(bitmap(1));
        List<Path> refs = new ArrayList<>();
        List<Long> points = new ArrayList<>();
        refs.add(img.snapshotRaw("ref-1.raw"));
        BackupSummary first = backup(img, request(new CbtRef(GEN, 1)));
        assertFalse(first.incremental());
        assertTrue(first.stats().bytesRead() < SIZE, "holes are not read: " + first.stats().bytesRead());
        points.add(first.pointId());

        for (int k = 2; k <= 6; k++) {
            List<QemuImage.Write> writes = img.randomWrites(rnd, 1 + rnd.nextInt(12), 300 << 10);
            img.write(writes);
            refs.add(img.snapshotRaw("ref-" + k + ".raw"));
            BackupSummary s = backup(img, request(new CbtRef(GEN, k)), bitmap(k - 1));
            assertEquals(points.getLast(), s.parent(), s.format());
            assertTrue(s.stats().bytesRead() <= touchedBytes(writes), "read only changed chunks: " + s.format());
            assertTrue(s.stats().changedChunks() <= touchedBytes(writes) / CS, s.format());
            points.add(s.pointId());
            img.removeBitmap(bitmap(k - 1));
            img.addBitmap(bitmap(k));
        }
        try (Repository repo = Repository.open(repoDir(), false)) {
            VerifyReport v = new Verifier(repo, progress, 2).verify(null);
            assertTrue(v.ok(), v.format());
            assertEquals(0, v.unusedEntries());
            assertEquals(6, v.points());
            Point last = repo.points().latest("vda").orElseThrow();
            assertEquals(GEN, last.meta().generation());
            assertEquals(6, last.meta().changesNumber());
        }
        for (int i = 0; i < points.size(); i++) {
            assertRestores(points.get(i), refs.get(i));
        }
    }

    /**
     * An Error in a block's worker (out of memory while a block is completed, stored or
     * counted) fails the run, and nothing is committed. It used to end that worker's task
     * alone: the run went on and committed a point, whatever the block's state.
     */
    @Test
    void anErrorInABlockWorkerFailsTheRunAndCommitsNothing() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        img.write(img.randomWrites(new Random(3), 40, 2 * MIB));
        OutOfMemoryError oom = new OutOfMemoryError("Java heap space (thrown by the test)");
        AtomicInteger advances = new AtomicInteger();
        Progress failing = new Progress() {
            @Override
            public void start(String what, long totalBytes) {
            }

            @Override
            public void advance(long bytes) {
                if (advances.incrementAndGet() == 3) {
                    throw oom;
                }
            }

            @Override
            public void note(String line) {
            }

            @Override
            public void finish() {
            }
        };
        IOException e;
        try (ServerProcess s = img.serve(); Repository repo = Repository.openOrCreate(repoDir(), RepositoryConfig.of(CS, MIB))) {
            BackupRequest r = BackupRequest.of("vda", s.address(), "", new CbtRef(GEN, 1));
            e = assertThrows(IOException.class, () -> new BackupRunner(repo, failing, 4, 2).run(r));
        }
        assertSame(oom, e.getCause(), e.toString());
        try (Repository repo = Repository.open(repoDir(), false)) {
            assertEquals(List.of(), repo.points().ids(), "nothing committed");
        }
    }

    @Test
    void aMissingContextOrANewGenerationMeansAFullReadThatStoresNothingNew() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        Random rnd = new Random(5);
        img.write(img.randomWrites(rnd, 10, MIB));
        img.addBitmap(bitmap(1));
        BackupSummary first = backup(img, request(new CbtRef(GEN, 1)));

        img.write(img.randomWrites(rnd, 5, 100 << 10));
        Path ref = img.snapshotRaw("ref.raw");
        BackupSummary noContext = backup(img, request(new CbtRef(GEN, 2)));
        assertNull(noContext.parent());
        String said = notes.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("does not offer qemu:dirty-bitmap:" + bitmap(1)) && said.contains("reading everything"), said);
        assertTrue(noContext.stats().bytesRead() > first.stats().bytesRead() / 2, noContext.format());
        assertRestores(noContext.pointId(), ref);

        notes.reset();
        BackupSummary newGeneration = backup(img, request(new CbtRef("other", 1)), bitmap(1));
        said = notes.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("CBT generation changed"), said);
        assertNull(newGeneration.parent());
        assertEquals(0, newGeneration.stats().newChunks(), "the same content is not stored twice");
        assertEquals(0, newGeneration.stats().changedChunks());
        assertEquals(noContext.stats().bytesRead(), newGeneration.stats().bytesRead());
        assertRestores(newGeneration.pointId(), ref);
    }

    @Test
    void aBitmapNamedByTheCallerDrivesAnIncrementalRunWithoutCbt() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        Random rnd = new Random(9);
        img.write(img.randomWrites(rnd, 10, MIB));
        BackupSummary first = backup(img, request(null));
        img.addBitmap("b0");
        List<QemuImage.Write> writes = List.of(new QemuImage.Write(3L * MIB + 512, 1024, 0x5a),
                new QemuImage.Write(20L * MIB, 600 << 10, 0x77));
        img.write(writes);
        Path ref = img.snapshotRaw("ref.raw");
        BackupSummary second = backup(img, request(null).withDirtyBitmap("qemu:dirty-bitmap:b0"), "b0");
        assertEquals(first.pointId(), second.parent());
        // qemu's bitmap granularity is 64 KiB: 1024 bytes and 600 KiB are 1 + 10 such blocks
        assertEquals(11L * (64 << 10), second.stats().dirtyBytes(), second.format());
        assertEquals(second.stats().dirtyBytes(), second.stats().bytesRead(), second.format());
        assertTrue(second.stats().bytesRead() < touchedBytes(writes), second.format());
        // 256 KiB chunks: 12 and 82 are dirty in part, completed from the parent's (the restore
        // shows they were right); 80 and 81 are read whole
        assertEquals(4, second.stats().changedChunks(), second.format());
        assertRestores(second.pointId(), ref);

        notes.reset();
        BackupSummary third = backup(img, request(null));
        assertNull(third.parent());
        assertTrue(notes.toString(StandardCharsets.UTF_8).contains("no CBT generation"));
    }

    @Test
    void identicalChunksAreStoredOnceAndHolesNotAtAll() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        img.write(List.of(new QemuImage.Write(MIB, 4 * MIB, 0x11), new QemuImage.Write(9L * MIB, CS, 0x11),
                new QemuImage.Write(20L * MIB, 512, 0x22)));
        Path ref = img.snapshotRaw("ref.raw");
        BackupSummary s = backup(img, request(new CbtRef(GEN, 1)));
        assertEquals(4 * MIB + CS + CS, s.stats().bytesRead(), "chunks wholly holes are not read: " + s.format());
        assertEquals(18, s.stats().changedChunks(), s.format());
        assertEquals(2, s.stats().newChunks(), s.format());
        assertEquals(SIZE / CS - 18, s.stats().zeroChunks(), s.format());
        assertRestores(s.pointId(), ref);
        long allocated = Long.parseLong(Cmd.run("stat", "-c", "%b", dir.resolve("restored-" + s.pointId() + ".raw").toString()).trim());
        assertTrue(allocated * 512 <= 6L * MIB, "the restored file is sparse: " + allocated + " sectors");
    }

    @Test
    void verifyFindsDamagedAndMissingChunksAndPruneKeepsWhatKeptPointsUse() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        Random rnd = new Random(11);
        img.write(img.randomWrites(rnd, 10, MIB));
        img.addBitmap(bitmap(1));
        List<Long> ids = new ArrayList<>(List.of(backup(img, request(new CbtRef(GEN, 1))).pointId()));
        List<Path> refs = new ArrayList<>();
        for (int k = 2; k <= 4; k++) {
            img.write(img.randomWrites(rnd, 4, 400 << 10));
            refs.add(img.snapshotRaw("ref-" + k + ".raw"));
            ids.add(backup(img, request(new CbtRef(GEN, k)), bitmap(k - 1)).pointId());
            img.removeBitmap(bitmap(k - 1));
            img.addBitmap(bitmap(k));
        }
        try (Repository repo = Repository.open(repoDir(), true)) {
            PruneReport pr = Pruner.prune(repo, 2);
            assertEquals(ids.subList(0, 2), pr.removedPoints());
            assertEquals(ids.subList(2, 4), pr.keptPoints());
            assertTrue(pr.removedEntries() + pr.unusedEntriesLeft() > 0, pr.format());
            VerifyReport v = new Verifier(repo, progress, 2).verify(null);
            assertTrue(v.ok(), v.format());
            assertEquals(pr.unusedEntriesLeft(), v.unusedEntries(), v.format());
        }
        assertRestores(ids.get(2), refs.get(1));
        assertRestores(ids.get(3), refs.get(2));

        Hash damaged;
        try (Repository repo = Repository.open(repoDir(), false)) {
            List<Hash> used = Points.chunks(repo, ids.get(3));
            damaged = used.get(0);
            Points.damage(repo, EntryType.CHUNK, damaged);
            Path gone = used.stream().map(h -> Points.packOf(repo, EntryType.CHUNK, h))
                    .filter(p -> !p.equals(Points.packOf(repo, EntryType.CHUNK, used.get(0)))).findFirst().orElseThrow();
            Files.delete(gone);
        }
        try (Repository repo = Repository.open(repoDir(), false)) {
            VerifyReport v = new Verifier(repo, progress, 2).verify(null);
            assertFalse(v.ok());
            // with the pack went manifests of point 4, whose chunks then go unchecked for it
            assertTrue(v.problems().stream().anyMatch(p -> p.startsWith("chunk " + damaged.hex() + ": ")
                    && !p.contains("missing") && p.contains("(in pack ")), v.format());
            assertTrue(v.problems().stream().anyMatch(p -> p.contains(": missing")), v.format());
            assertTrue(v.problems().stream().allMatch(p -> p.contains("used by point")), v.format());
            assertFalse(new Verifier(repo, progress, 2).verify(ids.get(3)).ok());
            assertThrows(BadEntryException.class,
                    () -> new Restorer(repo, progress, 2).restore(ids.get(3), dir.resolve("bad.raw")));
        }
    }

    @Test
    void afterAPackIsFoundDamagedTheNextBackupReadsEverythingAndItsPointIsWhole() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        img.write(List.of(new QemuImage.Write(0, 3 * MIB, 1), new QemuImage.Write(5 * MIB, 3 * MIB, 2)));
        img.addBitmap(bitmap(1));
        backup(img, request(new CbtRef(GEN, 1)));
        List<Path> packs;
        try (Stream<Path> s = Files.walk(repoDir().resolve("packs"))) {
            packs = s.filter(p -> p.toString().endsWith(".pack")).sorted().toList();
        }
        for (Path p : packs) { // break every index's checksum
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[] {0x55, 0x55, 0x55, 0x55}), ch.size() - 12);
            }
        }
        try (Stream<Path> s = Files.list(repoDir().resolve("index"))) { // and the persistent index, which would serve
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
        img.write(List.of(new QemuImage.Write(24 * MIB, 4096, 7)));
        Path ref = img.snapshotRaw("ref-2.raw");
        BackupSummary s = backup(img, request(new CbtRef(GEN, 2)), bitmap(1));
        String said = notes.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("damaged packs") && said.contains("reading everything"), said);
        assertFalse(s.incremental(), s.format());
        try (Repository repo = Repository.open(repoDir(), false)) {
            VerifyReport v = new Verifier(repo, progress, 2).verify(s.pointId());
            assertTrue(v.ok(), "point " + s.pointId() + ":\n" + v.format());
        }
        assertRestores(s.pointId(), ref);
    }

    /**
     * A device's points are ordered by their time, and the newest is the next incremental's
     * parent. A point dated ahead of the clock (a host whose clock was fast, an NTP step back)
     * must not stay "the newest" after later runs: an incremental by the operator's bitmap (what
     * changed since the last run) on top of it would record an image that never was, losing the
     * runs in between. Each run dates its point after the device's last one.
     */
    @Test
    void anIncrementalByTheOperatorsBitmapTakesTheLastRunAsItsParentWhateverTheClock() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        img.write(img.randomWrites(new Random(1), 10, MIB));

        // run 1 on a host whose clock is an hour ahead: its point dated an hour later
        long run1 = backup(img, byBitmap(null)).pointId();
        long future;
        try (Repository repo = Repository.open(repoDir(), false)) {
            Point p = repo.points().get(run1);
            HashList index = repo.points().index(p);
            PointMeta m = p.meta();
            future = repo.commit(new PointMeta(m.device(), m.size(), m.blockSize(), m.chunkSize(),
                    m.created().plus(Duration.ofHours(1)), m.generation(), m.changesNumber(), m.parent(), m.source(),
                    m.stats()), index);
        }
        Files.delete(repoDir().resolve(PointStore.name(run1)));
        img.addBitmap("b1");

        img.write(List.of(new QemuImage.Write(2L * MIB, 64 << 10, 0x11)));
        BackupSummary run2 = backup(img, byBitmap("b1"), "b1");
        assertEquals(future, run2.parent());
        assertTrue(notes.toString().contains("is dated just after it"), notes.toString());
        img.removeBitmap("b1");
        img.addBitmap("b2"); // rotated after the backup, as README says

        img.write(List.of(new QemuImage.Write(10L * MIB, 64 << 10, 0x22)));
        Path ref = img.snapshotRaw("ref3.raw");
        BackupSummary run3 = backup(img, byBitmap("b2"), "b2");
        assertEquals(run2.pointId(), run3.parent(), "the parent of run 3 is the last run, run 2");
        try (Repository repo = Repository.open(repoDir(), false)) {
            assertEquals(run3.pointId(), repo.points().latest("vda").orElseThrow().id());
        }
        assertRestores(run3.pointId(), ref);
    }

    /** A backup incremental by the bitmap the operator names (none: a full). */
    private static BackupRequest byBitmap(String bitmap) {
        return new BackupRequest("vda", null, "", null, bitmap == null ? null : "qemu:dirty-bitmap:" + bitmap, false);
    }
}
