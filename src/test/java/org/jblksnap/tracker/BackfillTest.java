package org.jblksnap.tracker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

import org.jblksnap.cbt.CbtMap;
import org.jblksnap.device.BlockDevice;
import org.jblksnap.device.BlockIo;
import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live restore state machine of a tracked device: under concurrent readers, writers and
 * the background copy every sector reads as the point or as the last write to it, the copy
 * never overwrites a write, a crash resumes from the saved state without losing a flushed
 * write, and an unreadable source fails only the reads that need it.
 */
@Timeout(300)
class BackfillTest {
    private static final int SECTOR = SectorPattern.SECTOR;
    private static final int SIZE = 8 << 20;
    private static final int SECTORS = SIZE / SECTOR;
    private static final int UNIT = 64 << 10;
    /** Sectors are owned by writers in groups of 192 (96 KiB, across unit edges): no two writers share a sector. */
    private static final int GROUP = 192;
    private static final Params PARAMS = TestDevices.params(Map.of());

    @TempDir
    Path dir;

    /** The point: every sector stamped (sector, writer 0, sequence 0); slow to read, and damaged where asked. */
    static final class Source implements BlockIo {
        final byte[] bytes = new byte[SIZE];
        volatile long damagedAt = -1;

        Source() {
            SectorPattern.fill(ByteBuffer.wrap(bytes), 0, SECTORS, 0, 0);
        }

        @Override
        public long capacity() {
            return SIZE;
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            if (damagedAt >= offset && damagedAt < offset + dst.remaining()) {
                throw new IOException("chunk 1234abcd is damaged");
            }
            try {
                Thread.sleep(0, 200_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            dst.put(bytes, (int) offset, dst.remaining());
        }

        @Override
        public void write(long offset, ByteBuffer src) throws IOException {
            throw new IOException("read-only");
        }

        @Override
        public void flush() {
        }
    }

    private Tracker restoring(Path target, Source source, Path state) throws IOException {
        BlockDevice device = BlockDevice.open(target);
        return new Tracker("restored", device, new CbtMap(device.capacity(), PARAMS),
                Backfill.open(device, source, "backup point 1 of /repo", "/repo#point-1", UNIT, state));
    }

    private static int owner(long sector) {
        return (int) (sector / GROUP % 2);
    }

    /**
     * Writers stamp (owner + 1, sequence) into their own groups: each write is recorded in
     * begun before it starts and in model once acknowledged.
     */
    private static Thread writer(Tracker t, int w, AtomicLongArray begun, AtomicLongArray model, AtomicBoolean stop,
            AtomicReference<Throwable> failure, boolean flushes) {
        return Thread.ofPlatform().start(() -> {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            long seq = 0;
            try {
                while (!stop.get()) {
                    long group = r.nextInt(SECTORS / GROUP / 2) * 2L + w;
                    boolean whole = r.nextInt(4) == 0; // covers at least one unit whole
                    int from = whole ? 0 : r.nextInt(GROUP);
                    int count = whole ? GROUP : 1 + r.nextInt(Math.min(16, GROUP - from));
                    long first = group * GROUP + from;
                    seq++;
                    for (int i = 0; i < count; i++) {
                        begun.set((int) (first + i), TestDevices.stamp(w + 1, seq));
                    }
                    TestDevices.writePattern(t, first, count, w + 1, seq);
                    for (int i = 0; i < count; i++) {
                        model.set((int) (first + i), TestDevices.stamp(w + 1, seq));
                    }
                    if (flushes && seq % 50 == 0) {
                        t.flush();
                    }
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
    }

    /**
     * Readers check each sector against what was acknowledged before the read began. A sector
     * that a write overlapped (begun but not acknowledged when the read began, or begun during
     * it) may read torn, a mix of its old and new versions: Linux's page cache does not make a
     * read atomic against a concurrent write of the same bytes (a file, or a block device
     * opened without O_DIRECT; restored live or not), nor does the block layer order
     * overlapping requests in flight. Such a sector proves nothing; every other must read
     * whole, as the point or as a write no older than the last acknowledged.
     */
    private static Thread reader(Tracker t, AtomicLongArray begun, AtomicLongArray model, AtomicBoolean stop,
            AtomicReference<Throwable> failure) {
        return Thread.ofPlatform().start(() -> {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            try {
                while (!stop.get()) {
                    int count = 1 + r.nextInt(256);
                    long first = r.nextLong(SECTORS - count);
                    long[] before = new long[count];
                    long[] begunBefore = new long[count];
                    for (int i = 0; i < count; i++) {
                        // model first: a write acknowledged between these two reads counts as overlapping
                        before[i] = model.get((int) (first + i));
                        begunBefore[i] = begun.get((int) (first + i));
                    }
                    ByteBuffer b = ByteBuffer.allocate(count * SECTOR);
                    t.read(first * SECTOR, b);
                    for (int i = 0; i < count; i++) {
                        long sector = first + i;
                        boolean overlapped = begunBefore[i] != before[i] || begun.get((int) sector) != begunBefore[i];
                        if (overlapped && SectorPattern.torn(b, i, sector)) {
                            continue;
                        }
                        SectorPattern.Stamp s = SectorPattern.decode(b, i, sector);
                        if (s.writer() == 0) {
                            assertEquals(0, before[i], "sector " + sector + " reads as the point after a write to it");
                        } else {
                            assertEquals(owner(sector) + 1, s.writer(), "sector " + sector);
                            assertTrue(TestDevices.writerOf(before[i]) == 0 || s.sequence() >= TestDevices.sequenceOf(before[i]),
                                    "sector " + sector + " reads an older write than one acknowledged before");
                        }
                    }
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
    }

    private static void fillAll(Backfill b, AtomicReference<Throwable> failure) throws IOException {
        for (long u = 0; u < b.units() && failure.get() == null; u++) {
            b.fill(u);
            if (u % 4 == 0) {
                try {
                    Thread.sleep(10); // the copy spans the readers' and writers' work
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
        }
    }

    private static void expectModel(byte[] data, AtomicLongArray model) {
        long[] m = new long[SECTORS];
        for (int i = 0; i < SECTORS; i++) {
            m[i] = model.get(i);
        }
        TestDevices.expectModel(data, m);
    }

    @Test
    void readsAndWritesDuringTheCopySeeThePointOrTheLastWriteAndTheCopyNeverOverwritesAWrite() throws Exception {
        Path target = TestDevices.sparseFile(dir, "target.img", SIZE + (1 << 20));
        Path state = dir.resolve("restored.state");
        Source source = new Source();
        Tracker t = restoring(target, source, state);
        UUID generation = t.cbt().generation();
        AtomicLongArray begun = new AtomicLongArray(SECTORS);
        AtomicLongArray model = new AtomicLongArray(SECTORS);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            threads.add(writer(t, w, begun, model, stop, failure, true));
        }
        for (int i = 0; i < 2; i++) {
            threads.add(reader(t, begun, model, stop, failure));
        }
        Backfill b = t.backfill();
        fillAll(b, failure);
        Thread.sleep(200);
        stop.set(true);
        for (Thread th : threads) {
            th.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertTrue(b.complete());
        expectModel(TestDevices.readAll(t), model);
        t.freeze();
        try {
            t.endBackfillWhileFrozen();
        } finally {
            t.thaw();
        }
        assertNull(t.backfill(), "an ordinary tracked device now");
        assertNotEquals(generation, t.cbt().generation(), "its CBT starts a new generation");
        assertFalse(Files.exists(state), "the restore's state is gone");
        t.close();
        byte[] onDisk = Files.readAllBytes(target);
        expectModel(java.util.Arrays.copyOf(onDisk, SIZE), model);
        assertEquals(-1, java.util.Arrays.mismatch(new byte[1 << 20], 0, 1 << 20, onDisk, SIZE, SIZE + (1 << 20)),
                "the target past the point's size is left alone");
    }

    @Test
    void aCrashResumesFromTheSavedStateAndKeepsEveryFlushedWrite() throws Exception {
        Path target = TestDevices.sparseFile(dir, "target.img", SIZE);
        Path state = dir.resolve("restored.state");
        Source source = new Source();
        Tracker t = restoring(target, source, state);
        Backfill b = t.backfill();
        AtomicLongArray model = new AtomicLongArray(SECTORS);
        for (long u = 0; u < b.units() / 2; u++) {
            b.fill(u);
        }
        TestDevices.writePattern(t, 5, 3, 1, 1); // a partial unit already restored
        TestDevices.writePattern(t, SECTORS - 40, 2, 1, 2); // a partial unit not restored: filled first
        t.flush();
        for (long s : new long[] {5, 6, 7}) {
            model.set((int) s, TestDevices.stamp(1, 1));
        }
        model.set(SECTORS - 40, TestDevices.stamp(1, 2));
        model.set(SECTORS - 39, TestDevices.stamp(1, 2));
        long savedUnits = b.restoredUnits();
        for (long u = b.units() / 2; u < b.units() * 3 / 4; u++) {
            b.fill(u); // copied after the last save: done again after the crash
        }
        // the crash: nothing more is saved or closed; the device file keeps what was written
        Tracker again = restoring(target, source, state);
        assertEquals(savedUnits, again.backfill().restoredUnits(), "the saved state is taken back");
        expectModel(TestDevices.readAll(again), model);
        fillAll(again.backfill(), new AtomicReference<>());
        assertTrue(again.backfill().complete());
        expectModel(TestDevices.readAll(again), model);
        again.close();
        expectModel(Files.readAllBytes(target), model);

        Source other = new Source();
        BlockDevice d = BlockDevice.open(target);
        try {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> Backfill.open(d, other, "backup point 2 of /repo", "/repo#point-2", UNIT, state));
            assertTrue(e.getMessage().contains("unfinished live restore of /repo#point-1"), e.getMessage());
        } finally {
            d.close();
        }
    }

    @Test
    void aDamagedChunkFailsOnlyTheReadsThatNeedItAndASmallTargetIsRefused() throws Exception {
        Path small = TestDevices.sparseFile(dir, "small.img", SIZE - UNIT);
        BlockDevice sd = BlockDevice.open(small);
        try {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> Backfill.open(sd, new Source(), "backup point 1 of /repo", "/repo#point-1", UNIT,
                            dir.resolve("small.state")));
            assertTrue(e.getMessage().contains("less than the " + SIZE + " bytes of backup point 1"), e.getMessage());
        } finally {
            sd.close();
        }
        assertFalse(Files.exists(dir.resolve("small.state")));

        Path target = TestDevices.sparseFile(dir, "target.img", SIZE);
        Source source = new Source();
        source.damagedAt = 3L * UNIT + 4096;
        Tracker t = restoring(target, source, dir.resolve("restored.state"));
        EngineIOException e = assertThrows(EngineIOException.class, () -> t.read(3L * UNIT, ByteBuffer.allocate(UNIT)));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("backup point 1 of /repo") && e.getMessage().contains("offset " + 3L * UNIT),
                e.getMessage());
        assertThrows(EngineIOException.class, () -> t.backfill().fill(3));
        for (long u = 0; u < t.backfill().units(); u++) {
            if (u != 3) {
                t.backfill().fill(u);
            }
        }
        assertFalse(t.backfill().complete());
        ByteBuffer other = ByteBuffer.allocate(UNIT);
        t.read(4L * UNIT, other);
        SectorPattern.expect(other, 0, 4L * UNIT / SECTOR, 0, 0);
        TestDevices.writePattern(t, 3L * UNIT / SECTOR, UNIT / SECTOR, 1, 1); // a whole-unit write needs no source
        assertTrue(t.backfill().complete());
        t.close();
    }
}
