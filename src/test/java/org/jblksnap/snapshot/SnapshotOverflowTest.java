package org.jblksnap.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.error.Errno;
import org.jblksnap.error.SnapshotCorruptedException;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A difference storage too small for the writes after take: the snapshot is lost with
 * no_space then corrupted (ENOSPC), and the devices lose nothing.
 */
class SnapshotOverflowTest {
    private static final int SECTOR = 512;
    private static final int CHUNK = 64 << 10;
    private static final int CHUNK_SECTORS = CHUNK / SECTOR;
    private static final long SIZE_A = 64L * CHUNK;
    private static final long SIZE_B = 16L * CHUNK;
    /** Grows by two chunks at a time, up to eight chunks. */
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16",
            "diff_storage_minimum", String.valueOf(2 * CHUNK_SECTORS)));
    private static final long LIMIT = 8L * CHUNK;

    @TempDir
    Path dir;
    private Path store;
    private Path fileA;
    private Path fileB;

    @BeforeEach
    void devices() throws IOException {
        store = Files.createDirectory(dir.resolve("store"));
        fileA = TestDevices.patternFile(dir, "a.img", SIZE_A);
        fileB = TestDevices.patternFile(dir, "b.img", SIZE_B);
    }

    @Test
    void devicesKeepEveryWriteWhileTheSnapshotIsLost() throws Exception {
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            Tracker a = m.attach("a", fileA);
            Tracker b = m.attach("b", fileB);
            UUID id = m.create(store, LIMIT, List.of("a", "b"));
            m.take(id);
            CbtInfo cbtAtTake = m.cbtInfo("a");
            SnapshotImage imageA = m.image("a");
            SnapshotImage imageB = m.image("b");
            byte[] initialB = TestDevices.readAll(b);
            assertArrayEquals(initialB, TestDevices.readAll(imageB));

            long[] model = new long[(int) (SIZE_A / SECTOR)];
            for (int c = 0; c < SIZE_A / CHUNK; c++) {
                TestDevices.writePattern(a, (long) c * CHUNK_SECTORS, CHUNK_SECTORS, 1, c + 1);
                Arrays.fill(model, c * CHUNK_SECTORS, (c + 1) * CHUNK_SECTORS, TestDevices.stamp(1, c + 1));
            }
            TestDevices.expectModel(TestDevices.readAll(a), model);

            SnapshotEvent first = m.waitEvent(id, 5000).orElseThrow();
            SnapshotEvent.NoSpace noSpace = assertInstanceOf(SnapshotEvent.NoSpace.class, first);
            assertEquals("no_space", noSpace.code());
            assertEquals(LIMIT / SECTOR, noSpace.requestedSectors(), "the total size requested, as upstream's requested_nr_sect");
            SnapshotEvent second = m.waitEvent(id, 5000).orElseThrow();
            SnapshotEvent.Corrupted corrupted = assertInstanceOf(SnapshotEvent.Corrupted.class, second);
            assertEquals("corrupted", corrupted.code());
            assertEquals("a", corrupted.device());
            assertEquals(Errno.ENOSPC, corrupted.errno());
            assertEquals(Optional.empty(), m.waitEvent(id, 0), "one event of each");

            // The failed copy was a's: a's image is lost, b's still shows b at take (as blksnap
            // corrupts one device's diff area, not the whole snapshot).
            assertThrows(SnapshotCorruptedException.class, () -> imageA.read(0, ByteBuffer.allocate(CHUNK)));
            assertThrows(SnapshotCorruptedException.class, () -> imageA.write(CHUNK, SectorPattern.sectors(128, 1, 9, 9)));
            assertEquals(-Errno.ENOSPC.code(), m.info("a").errorCode());
            assertEquals(0, m.info("b").errorCode());
            assertArrayEquals(initialB, TestDevices.readAll(imageB));
            assertEquals(List.of(id), m.collect());

            // Still written and read like before, also where chunks were never copied. b's first
            // copy finds the storage overflowed: now b's image is lost too, with its own event.
            TestDevices.writePattern(a, 5, 3, 2, 1);
            TestDevices.writePattern(b, 3 * CHUNK_SECTORS - 1, 2, 2, 2);
            Arrays.fill(model, 5, 8, TestDevices.stamp(2, 1));
            TestDevices.expectModel(TestDevices.readAll(a), model);
            SnapshotEvent.Corrupted ofB = assertInstanceOf(SnapshotEvent.Corrupted.class, m.waitEvent(id, 5000).orElseThrow());
            assertEquals("b", ofB.device());
            assertEquals(Errno.ENOSPC, ofB.errno());
            assertEquals(-28, m.info("b").errorCode());
            assertThrows(SnapshotCorruptedException.class, () -> imageB.read(0, ByteBuffer.allocate(SECTOR)));

            m.destroy(id);
            assertEquals(List.of(), m.collect());
            assertEquals(List.of(), list(store));
            TestDevices.writePattern(a, 0, CHUNK_SECTORS, 3, 1);
            Arrays.fill(model, 0, CHUNK_SECTORS, TestDevices.stamp(3, 1));
            TestDevices.expectModel(TestDevices.readAll(a), model);
            // An overflow loses the snapshot, not the change tracking: the same generation, and
            // every block (all were written after take) marked with the number after take.
            assertEquals(cbtAtTake, m.cbtInfo("a"));
            byte[] writable = m.tracker("a").cbt().state().writable();
            for (int i = 0; i < writable.length; i++) {
                assertEquals(cbtAtTake.changesNumber() + 1, Byte.toUnsignedInt(writable[i]), "block " + i);
            }

            // A new snapshot of the same devices works.
            UUID next = m.create(store, 64L << 20, List.of("a", "b"));
            m.take(next);
            byte[] atTake = TestDevices.readAll(a);
            TestDevices.writePattern(a, 0, (int) (SIZE_A / SECTOR), 4, 1);
            assertArrayEquals(atTake, TestDevices.readAll(m.image("a")));
            assertEquals(0, m.info("a").errorCode());
            m.destroy(next);
        }
    }

    @Test
    void anImageWriteThatOverflowsFailsAndLeavesTheDeviceAlone() throws Exception {
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            Tracker a = m.attach("a", fileA);
            UUID id = m.create(store, LIMIT, List.of("a"));
            m.take(id);
            SnapshotImage image = m.image("a");
            byte[] device = TestDevices.readAll(a);
            IOException failure = null;
            for (int c = 0; c < SIZE_A / CHUNK && failure == null; c++) {
                try {
                    TestDevices.writePattern(image, (long) c * CHUNK_SECTORS + 1, 1, 5, c);
                } catch (IOException e) {
                    failure = e;
                }
            }
            assertTrue(failure != null, "a storage of eight chunks cannot take 64 image writes");
            assertEquals(-28, m.info("a").errorCode());
            assertThrows(SnapshotCorruptedException.class, () -> image.read(0, ByteBuffer.allocate(SECTOR)));
            assertArrayEquals(device, TestDevices.readAll(a), "image writes never reach the device");
            assertInstanceOf(SnapshotEvent.NoSpace.class, m.waitEvent(id, 5000).orElseThrow());
            assertInstanceOf(SnapshotEvent.Corrupted.class, m.waitEvent(id, 5000).orElseThrow());
            m.destroy(id);
        }
    }

    @Test
    @Timeout(60)
    void concurrentWritersSeeNoSpaceThenCorruptedAndLoseNothing() throws Exception {
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            Tracker[] devices = {m.attach("a", fileA), m.attach("b", fileB)};
            UUID id = m.create(store, LIMIT, List.of("a", "b"));
            m.take(id);
            AtomicReference<CountDownLatch> progress = new AtomicReference<>(new CountDownLatch(0));
            List<RegionWriter> writers = new ArrayList<>();
            for (Tracker d : devices) {
                int half = (int) (d.capacity() / SECTOR / 2);
                for (int w = 0; w < 2; w++) {
                    writers.add(new RegionWriter(1 + writers.size(), d, (long) w * half, half, 2 * CHUNK_SECTORS,
                            CHUNK, progress));
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(writers.size());
            AtomicBoolean stop = new AtomicBoolean();
            List<Future<Void>> running = new ArrayList<>();
            for (RegionWriter w : writers) {
                running.add(pool.submit(() -> w.run(stop)));
            }
            try {
                assertInstanceOf(SnapshotEvent.NoSpace.class, m.waitEvent(id, 30_000).orElseThrow());
                // Both devices keep writing new chunks, so each loses its image, once.
                Set<String> lost = new HashSet<>();
                for (int i = 0; i < 2; i++) {
                    SnapshotEvent.Corrupted c = assertInstanceOf(SnapshotEvent.Corrupted.class,
                            m.waitEvent(id, 30_000).orElseThrow());
                    assertEquals(Errno.ENOSPC, c.errno());
                    assertTrue(lost.add(c.device()), "one event per device: " + c);
                }
                // Writes go on after the loss.
                progress.set(new CountDownLatch(200));
                assertTrue(progress.get().await(30, TimeUnit.SECONDS), "writers stalled after the overflow");
            } finally {
                stop.set(true);
                for (Future<Void> f : running) {
                    f.get(30, TimeUnit.SECONDS);
                }
                pool.shutdownNow();
            }
            assertEquals(Optional.empty(), m.waitEvent(id, 0));
            assertEquals(-28, m.info("a").errorCode());
            assertEquals(-28, m.info("b").errorCode());
            m.destroy(id);
            for (Tracker d : devices) {
                long[] model = new long[(int) (d.capacity() / SECTOR)];
                for (RegionWriter w : writers) {
                    if (w.device() == d) {
                        w.putModel(model);
                    }
                }
                TestDevices.expectModel(TestDevices.readAll(d), model);
            }
        }
    }

    private static List<Path> list(Path d) throws IOException {
        try (var s = Files.list(d)) {
            return s.toList();
        }
    }
}
