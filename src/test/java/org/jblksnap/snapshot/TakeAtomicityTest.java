package org.jblksnap.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.jblksnap.params.Params;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One writer alternates a rising counter between two devices: k to A, then k to B, then k + 1
 * to A. At any instant A holds B's counter or one more, so both images of a take must too.
 */
class TakeAtomicityTest {
    private static final int SECTOR = 512;
    private static final long SIZE = 1L << 20;
    private static final int CYCLES = 30;
    private static final int WRITES_PER_CYCLE = 200;
    private static final int WRITER = 1;
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16"));

    @TempDir
    Path dir;

    private final AtomicReference<CountDownLatch> sinceTake = new AtomicReference<>(new CountDownLatch(0));

    @Test
    @Timeout(60)
    void bothImagesShowCountersOfOneInstant() throws Exception {
        Path store = Files.createDirectory(dir.resolve("store"));
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            Tracker a = m.attach("a", TestDevices.patternFile(dir, "a.img", SIZE));
            Tracker b = m.attach("b", TestDevices.patternFile(dir, "b.img", SIZE));
            ExecutorService pool = Executors.newSingleThreadExecutor();
            AtomicBoolean stop = new AtomicBoolean();
            Future<Void> writer = pool.submit(() -> alternate(a, b, stop));
            try {
                long last = -1;
                for (int cycle = 0; cycle < CYCLES; cycle++) {
                    // Half the snapshots freeze B first.
                    List<String> order = cycle % 2 == 0 ? List.of("a", "b") : List.of("b", "a");
                    last = checkOneTake(m, a, b, store, order, last);
                }
            } finally {
                stop.set(true);
                writer.get(30, TimeUnit.SECONDS);
                pool.shutdownNow();
            }
        }
    }

    /** Takes, checks both images; returns A's counter in them. */
    private long checkOneTake(SnapshotManager m, Tracker a, Tracker b, Path store, List<String> order, long last)
            throws Exception {
        UUID id = m.create(store, 16L << 20, order);
        byte[][] atTake = new byte[2][];
        m.take(id, () -> {
            try {
                atTake[0] = TestDevices.readAll(a);
                atTake[1] = TestDevices.readAll(b);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            sinceTake.set(new CountDownLatch(WRITES_PER_CYCLE));
        });
        // Let the writer go on, so the images are read with chunks copied away underneath.
        assertTrue(sinceTake.get().await(30, TimeUnit.SECONDS), "the writer stalled");
        byte[] imageA = TestDevices.readAll(m.image("a"));
        byte[] imageB = TestDevices.readAll(m.image("b"));
        long counterA = counter(imageA);
        long counterB = counter(imageB);
        assertTrue(counterA == counterB || counterA == counterB + 1,
                "images from one instant: a=" + counterA + " b=" + counterB + " (frozen in order " + order + ")");
        assertArrayEquals(atTake[0], imageA, "image a is device a at take");
        assertArrayEquals(atTake[1], imageB, "image b is device b at take");
        assertTrue(counterA > last, "the writer moved on between takes");
        m.destroy(id);
        return counterA;
    }

    /** Writes counter k to A then to B, k = 1, 2, ... each at sector k mod the device's sectors. */
    private Void alternate(Tracker a, Tracker b, AtomicBoolean stop) throws IOException {
        long sectors = SIZE / SECTOR;
        for (long k = 1; !stop.get(); k++) {
            TestDevices.writePattern(a, k % sectors, 1, WRITER, k);
            TestDevices.writePattern(b, k % sectors, 1, WRITER, k);
            sinceTake.get().countDown();
        }
        return null;
    }

    /** The highest counter on a device: the last one written. */
    private static long counter(byte[] device) {
        ByteBuffer buf = ByteBuffer.wrap(device);
        long max = 0;
        for (int s = 0; s < device.length / SECTOR; s++) {
            max = Math.max(max, SectorPattern.decode(buf, s, s).sequence());
        }
        return max;
    }
}
