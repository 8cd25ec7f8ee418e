package org.jblksnap.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.jblksnap.error.ImageClosedException;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writers hammer two devices of one snapshot while checkers read both images; every image
 * sector must stay as the devices were at take, over several take/destroy cycles, and the
 * devices must end exactly as the writers wrote them.
 */
class SnapshotConcurrencyTest {
    private static final int SECTOR = 512;
    private static final long SIZE = 8L << 20;
    private static final int CHUNK = 64 << 10;
    private static final int WRITERS_PER_DEVICE = 2;
    private static final int CHECKERS = 2;
    private static final int CYCLES = 6;
    /** Each cycle's last sweep starts only after this many writes since its take. */
    private static final int WRITES_PER_CYCLE = 1000;
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16",
            "diff_storage_minimum", "2048"));

    @TempDir
    Path dir;

    private final AtomicReference<CountDownLatch> sinceTake = new AtomicReference<>(new CountDownLatch(0));

    @Test
    @Timeout(120)
    void imagesStayAsAtTakeWhileBothDevicesAreWritten() throws Exception {
        Path store = Files.createDirectory(dir.resolve("store"));
        String[] names = {"a", "b"};
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            Tracker[] devices = new Tracker[names.length];
            List<RegionWriter> writers = new ArrayList<>();
            int regionSectors = (int) (SIZE / SECTOR / WRITERS_PER_DEVICE);
            for (int d = 0; d < names.length; d++) {
                devices[d] = m.attach(names[d], TestDevices.patternFile(dir, names[d] + ".img", SIZE));
                for (int w = 0; w < WRITERS_PER_DEVICE; w++) {
                    writers.add(new RegionWriter(1 + writers.size(), devices[d], (long) w * regionSectors,
                            regionSectors, 3 * CHUNK / SECTOR, CHUNK, sinceTake));
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(writers.size() + CHECKERS);
            AtomicBoolean stop = new AtomicBoolean();
            List<Future<Void>> writing = new ArrayList<>();
            for (RegionWriter w : writers) {
                writing.add(pool.submit(() -> w.run(stop)));
            }
            try {
                for (int cycle = 0; cycle < CYCLES; cycle++) {
                    runCycle(m, devices, store, pool, cycle);
                }
            } finally {
                stop.set(true);
                for (Future<Void> f : writing) {
                    f.get(30, TimeUnit.SECONDS); // a writer's failure fails the test here
                }
                pool.shutdownNow();
            }
            for (Tracker device : devices) {
                long[] model = new long[(int) (SIZE / SECTOR)];
                for (RegionWriter w : writers) {
                    if (w.device() == device) {
                        w.putModel(model);
                    }
                }
                TestDevices.expectModel(TestDevices.readAll(device), model);
            }
            for (RegionWriter w : writers) {
                assertTrue(w.writes() >= WRITES_PER_CYCLE / writers.size(), "writer made progress: " + w.writes());
                assertTrue(w.crossings() > 0, "some writes crossed chunk borders");
            }
        }
    }

    @Test
    @Timeout(60)
    void destroyUnderLoadEndsImageIoCleanlyAndLosesNoDeviceWrite() throws Exception {
        Path store = Files.createDirectory(dir.resolve("store"));
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            Tracker device = m.attach("a", TestDevices.patternFile(dir, "a.img", SIZE));
            RegionWriter writer = new RegionWriter(1, device, 0, (int) (SIZE / SECTOR), 3 * CHUNK / SECTOR, CHUNK,
                    sinceTake);
            ExecutorService pool = Executors.newFixedThreadPool(1 + CHECKERS);
            AtomicBoolean stop = new AtomicBoolean();
            Future<Void> writing = pool.submit(() -> writer.run(stop));
            try {
                for (int cycle = 0; cycle < 3; cycle++) {
                    UUID id = m.create(store, 64L << 20, List.of("a"));
                    m.take(id, () -> sinceTake.set(new CountDownLatch(WRITES_PER_CYCLE)));
                    SnapshotImage image = m.image("a");
                    CountDownLatch reading = new CountDownLatch(CHECKERS);
                    List<Future<Long>> readers = new ArrayList<>();
                    for (int r = 0; r < CHECKERS; r++) {
                        SplittableRandom random = new SplittableRandom(r);
                        readers.add(pool.submit(() -> readUntilClosed(image, random, reading)));
                    }
                    assertTrue(reading.await(30, TimeUnit.SECONDS));
                    assertTrue(sinceTake.get().await(30, TimeUnit.SECONDS), "writer stalled");
                    m.destroy(id); // with reads and copies in flight
                    for (Future<Long> f : readers) {
                        assertTrue(f.get(30, TimeUnit.SECONDS) > 0, "the reader read before the destroy");
                    }
                    assertEquals(List.of(), list(store));
                }
            } finally {
                stop.set(true);
                writing.get(30, TimeUnit.SECONDS);
                pool.shutdownNow();
            }
            long[] model = new long[(int) (SIZE / SECTOR)];
            writer.putModel(model);
            TestDevices.expectModel(TestDevices.readAll(device), model);
        }
    }

    /** Reads random pieces until the image is closed; any other failure is an error. */
    private static long readUntilClosed(SnapshotImage image, SplittableRandom random, CountDownLatch started)
            throws IOException {
        long reads = 0;
        ByteBuffer buf = ByteBuffer.allocate(2 * CHUNK);
        while (true) {
            int sectors = 1 + random.nextInt(2 * CHUNK / SECTOR);
            long at = random.nextLong(SIZE / SECTOR - sectors + 1) * SECTOR;
            buf.clear().limit(sectors * SECTOR);
            try {
                image.read(at, buf);
            } catch (ImageClosedException e) {
                return reads;
            }
            if (++reads == 1) {
                started.countDown();
            }
        }
    }

    private static List<Path> list(Path d) throws IOException {
        try (var s = Files.list(d)) {
            return s.toList();
        }
    }

    private void runCycle(SnapshotManager m, Tracker[] devices, Path store, ExecutorService pool, int cycle)
            throws Exception {
        UUID id = m.create(store, 64L << 20, List.of("a", "b"));
        byte[][] atTake = new byte[devices.length][];
        m.take(id, () -> {
            try {
                for (int d = 0; d < devices.length; d++) {
                    atTake[d] = TestDevices.readAll(devices[d]);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            sinceTake.set(new CountDownLatch(WRITES_PER_CYCLE));
        });
        for (byte[] copy : atTake) {
            ByteBuffer b = ByteBuffer.wrap(copy);
            for (int s = 0; s < copy.length / SECTOR; s++) {
                SectorPattern.decode(b, s, s); // no torn sector: writes were drained at take
            }
        }
        SnapshotImage[] images = {m.image("a"), m.image("b")};
        CountDownLatch latch = sinceTake.get();
        List<Future<Void>> checks = new ArrayList<>();
        for (int c = 0; c < CHECKERS; c++) {
            SplittableRandom random = new SplittableRandom(cycle * 31L + c);
            checks.add(pool.submit(() -> {
                sweep(images, atTake, random);
                assertTrue(latch.await(30, TimeUnit.SECONDS), "writers stalled");
                sweep(images, atTake, random);
                return null;
            }));
        }
        for (Future<Void> f : checks) {
            f.get(60, TimeUnit.SECONDS);
        }
        Snapshot s = m.snapshot(id);
        assertTrue(s.copiedChunks() > 0, "writes after take copied chunks");
        assertEquals(0, m.info("a").errorCode());
        m.destroy(id);
        assertThrows(ImageClosedException.class, () -> images[0].read(0, ByteBuffer.allocate(SECTOR)));
        assertEquals(List.of(), m.collect());
    }

    /** Reads all of both images in pieces of random length and compares with the copies at take. */
    private static void sweep(SnapshotImage[] images, byte[][] atTake, SplittableRandom random) throws IOException {
        for (int k = 0; k < images.length; k++) {
            int d = (k + random.nextInt(images.length)) % images.length;
            byte[] got = new byte[(int) SIZE];
            int pos = 0;
            while (pos < SIZE) {
                int len = Math.min((1 + random.nextInt(2 * CHUNK / SECTOR)) * SECTOR, (int) SIZE - pos);
                TestDevices.read(images[d], pos, len, got);
                pos += len;
            }
            int diff = Arrays.mismatch(got, atTake[d]);
            if (diff >= 0) {
                int sector = diff / SECTOR;
                SectorPattern.Stamp want = SectorPattern.decode(ByteBuffer.wrap(atTake[d]), sector, sector);
                throw new AssertionError("image " + images[d].name() + " sector " + sector + " differs from the take: "
                        + "expected " + want + ", read " + describe(got, sector));
            }
        }
    }

    private static String describe(byte[] data, int sector) {
        try {
            return SectorPattern.decode(ByteBuffer.wrap(data), sector, sector).toString();
        } catch (AssertionError e) {
            return e.getMessage();
        }
    }
}
