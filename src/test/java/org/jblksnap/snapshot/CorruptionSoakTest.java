package org.jblksnap.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A soak like upstream's cpp/corrupt (doc/tests/corrupt.md), bounded by time rather than by a
 * count: two devices carry a sector pattern (each sector names itself, its writer and a
 * sequence, under a CRC). Every cycle takes a snapshot of both and checks the images whole;
 * rewrites the first sectors (a file system's superblock at mount); then writers hammer both
 * devices while the images are written and checked whole, again and again; then the devices
 * are checked whole. At every take the CBT is cross-checked against every write since each
 * earlier take of its generation: a block written since backup N reads above N, and one not
 * written reads N or below.
 *
 * <p>It runs for {@code -Djblksnap.soak.seconds} (30 in the suite); {@code scripts/soak}
 * runs it longer.
 */
class CorruptionSoakTest {
    private static final Logger LOG = Logger.getLogger(CorruptionSoakTest.class.getName());
    private static final int SECTOR = 512;
    private static final long SIZE = 32L << 20;
    private static final int CHUNK = 64 << 10;
    /** CBT blocks of 4 KiB, and few writes per cycle: most blocks stay unwritten, so over-reporting shows too. */
    private static final int BLOCK_SHIFT = 12;
    private static final int WRITES_PER_CYCLE = 40;
    /** The first chunk is the main thread's ("superblock" and its rewrites); writers share the rest. */
    private static final int RESERVED_SECTORS = CHUNK / SECTOR;
    private static final int WRITERS_PER_DEVICE = 2;
    private static final int ROUNDS = 3;
    private static final int HISTORY = 16;
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16",
            "tracking_block_minimum_shift", String.valueOf(BLOCK_SHIFT), "diff_storage_minimum", "8192"));

    @TempDir
    Path dir;

    /** Since a take whose changes number is number: the CBT blocks written from then on. */
    private record Since(int number, BitSet written) {
    }

    /** One device: its writers, the model of its sectors, and its CBT history in this generation. */
    private static final class Device {
        final Tracker tracker;
        final long[] model = new long[(int) (SIZE / SECTOR)];
        final List<RegionWriter> writers = new ArrayList<>();
        final List<Since> history = new ArrayList<>();
        UUID generation;

        Device(Tracker tracker) {
            this.tracker = tracker;
        }

        synchronized void written(long sector, int count) {
            int first = (int) ((sector * SECTOR) >> BLOCK_SHIFT);
            int last = (int) (((sector + count) * SECTOR - 1) >> BLOCK_SHIFT);
            for (Since s : history) {
                s.written().set(first, last + 1);
            }
        }
    }

    @Test
    void imagesAndTheCbtStayExactForAsLongAsItRuns() throws Exception {
        long seconds = Long.getLong("jblksnap.soak.seconds", 30);
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        Path store = Files.createDirectory(dir.resolve("store"));
        SplittableRandom random = new SplittableRandom(seconds);
        ExecutorService pool = Executors.newCachedThreadPool();
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            List<Device> devices = new ArrayList<>();
            int writerId = 1;
            for (String name : List.of("a", "b")) {
                Device d = new Device(m.attach(name, TestDevices.patternFile(dir, name + ".img", SIZE)));
                assertEquals(BLOCK_SHIFT, d.tracker.cbt().blockShift());
                int region = (int) ((SIZE / SECTOR - RESERVED_SECTORS) / WRITERS_PER_DEVICE);
                for (int w = 0; w < WRITERS_PER_DEVICE; w++) {
                    d.writers.add(new RegionWriter(writerId++, d.tracker, RESERVED_SECTORS + (long) w * region, region,
                            3 * CHUNK / SECTOR, CHUNK, new AtomicReference<>(new CountDownLatch(0)),
                            (t, sector, count) -> d.written(sector, count)));
                }
                devices.add(d);
            }
            long sequence = 0;
            int cycles = 0;
            long deviceWrites = 0;
            while (cycles < 2 || System.nanoTime() < deadline) {
                UUID id = m.create(store, 256L << 20, List.of("a", "b"));
                m.take(id);
                List<long[]> imageModels = new ArrayList<>();
                for (Device d : devices) {
                    checkCbt(m, d);
                    imageModels.add(d.model.clone());
                    TestDevices.expectModel(TestDevices.readAll(m.image(d.tracker.name())), d.model);
                    sequence++;
                    TestDevices.writePattern(d.tracker, 0, 3, 90, sequence);
                    d.written(0, 3);
                    for (int i = 0; i < 3; i++) {
                        d.model[i] = TestDevices.stamp(90, sequence);
                    }
                }
                AtomicBoolean stop = new AtomicBoolean(); // the budget ends each writer
                List<Future<Void>> running = new ArrayList<>();
                for (Device d : devices) {
                    for (RegionWriter w : d.writers) {
                        running.add(pool.submit(() -> w.run(stop, WRITES_PER_CYCLE)));
                    }
                }
                try {
                    // The images are written and checked while the writers copy chunks under them.
                    for (int round = 0; round < ROUNDS; round++) {
                        for (int i = 0; i < devices.size(); i++) {
                            Device d = devices.get(i);
                            SnapshotImage image = m.image(d.tracker.name());
                            for (int k = 0; k < 4; k++) {
                                int count = 1 + random.nextInt(2 * CHUNK / SECTOR);
                                long at = random.nextLong(d.model.length - count + 1);
                                sequence++;
                                TestDevices.writePattern(image, at, count, 100 + i, sequence);
                                d.written(at, count);
                                for (int s = 0; s < count; s++) {
                                    imageModels.get(i)[(int) at + s] = TestDevices.stamp(100 + i, sequence);
                                }
                            }
                            TestDevices.expectModel(TestDevices.readAll(image), imageModels.get(i));
                        }
                    }
                } finally {
                    for (Future<Void> f : running) {
                        f.get();
                    }
                }
                for (Device d : devices) {
                    for (RegionWriter w : d.writers) {
                        w.putModel(d.model);
                    }
                    TestDevices.expectModel(TestDevices.readAll(d.tracker), d.model);
                }
                for (Device d : devices) {
                    assertEquals(0, m.snapshot(id).errorCode(d.tracker.name()));
                }
                m.destroy(id);
                cycles++;
            }
            for (Device d : devices) {
                for (RegionWriter w : d.writers) {
                    deviceWrites += w.writes();
                }
            }
            int done = cycles;
            long writes = deviceWrites;
            LOG.info(() -> "soak: " + done + " cycles in " + seconds + " s, " + writes + " device writes");
            assertTrue(deviceWrites > cycles, "the writers wrote: " + deviceWrites);
        } finally {
            pool.shutdownNow();
        }
    }

    /** At a take: each earlier take's writes read above its number, nothing else does. */
    private static void checkCbt(SnapshotManager m, Device d) {
        CbtInfo info = m.cbtInfo(d.tracker.name());
        synchronized (d) {
            if (!info.generationId().equals(d.generation)) {
                d.generation = info.generationId();
                d.history.clear();
            }
            byte[] map = m.readCbtMap(d.tracker.name(), 0, info.blockCount());
            for (Since s : d.history) {
                for (int b = 0; b < map.length; b++) {
                    int r = map[b] & 0xff;
                    if (s.written().get(b) ? r <= s.number() : r > s.number()) {
                        throw new AssertionError("device " + d.tracker.name() + " block " + b + ": readable " + r
                                + " but it was " + (s.written().get(b) ? "" : "not ") + "written since backup " + s.number());
                    }
                }
            }
            d.history.add(new Since(info.changesNumber(), new BitSet(info.blockCount())));
            if (d.history.size() > HISTORY) {
                d.history.removeFirst();
            }
        }
    }
}
