package org.jblksnap.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.ImageClosedException;
import org.jblksnap.error.SnapshotCorruptedException;
import org.jblksnap.fuse.FaultyFs;
import org.jblksnap.fuse.FaultyFs.Op;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Devices and difference storages on a file system that fails or stalls on demand
 * ({@link FaultyFs}): what a failing disk, a full disk or a lost write-back does to the engine.
 * Each test names the invariant of DESIGN.md it keeps.
 */
@Timeout(120)
class FaultInjectionTest {
    private static final int CHUNK = 64 << 10;
    private static final long SIZE = 16L * CHUNK;
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16",
            "diff_storage_minimum", "256"));

    @TempDir
    Path dir;
    private FaultyFs fs;

    @BeforeEach
    void mount() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "the faulty file system is a FUSE mount: needs root");
        fs = FaultyFs.mount(dir.resolve("backing"), dir.resolve("mnt"));
    }

    @AfterEach
    void unmount() throws Exception {
        if (fs != null) {
            fs.close();
        }
    }

    private Path device(String name) throws IOException {
        Path p = TestDevices.patternFile(dir.resolve("backing"), name, SIZE);
        return fs.path(p.getFileName().toString());
    }

    /** Invariant 1: a failed flush stays failed (every later FLUSH/FUA fails) until re-attach. */
    @Test
    void aFailedFlushStaysFailedUntilTheDeviceIsAttachedAgain() throws Exception {
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            Tracker t = m.attach("d", device("d.img"));
            t.write(0, SectorPattern.sectors(0, 8, 1, 1));
            FaultyFs.Fault lost = fs.fail("d.img", Op.FSYNC, 0, 1, Errno.EIO);
            EngineIOException first = assertThrows(EngineIOException.class, t::flush);
            assertEquals(1, lost.struck());
            // The kernel reports a lost write-back once: the file system would now say all is
            // well, and the daemon must not.
            t.write(4096, SectorPattern.sectors(8, 8, 1, 2));
            EngineIOException again = assertThrows(EngineIOException.class, t::flush);
            assertEquals(Errno.EIO, again.errno());
            assertTrue(again.getMessage().contains("failed earlier"), again.getMessage());
            assertEquals(1, fs.calls("d.img", Op.FSYNC), "the second flush did not even ask the file system");
            assertTrue(t.device().flushFailure() != null);

            EngineIOException detached = assertThrows(EngineIOException.class, () -> m.detach("d"));
            assertTrue(detached.getMessage().contains("is detached"), detached.getMessage());
            assertEquals(List.of(), m.trackers());
            Tracker back = m.attach("d", fs.path("d.img"));
            back.flush();
            assertNull(back.device().flushFailure(), "a new attach starts clean");
            assertTrue(first.getMessage().contains("flush failed"), first.getMessage());
        }
    }

    /**
     * Invariant 1 and the model's overflow: the storage's file system full in the middle of a
     * copy loses that device's image (ENOSPC, one corrupted event) and nothing of the device.
     */
    @Test
    void aFullStorageMidCopyLosesTheImageNotTheDevice() throws Exception {
        Files.write(fs.backingPath("diff"), new byte[0]);
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            Tracker a = m.attach("a", device("a.img"));
            Tracker b = m.attach("b", device("b.img"));
            UUID id = m.create(fs.path("diff"), 64L << 20, List.of("a", "b"));
            m.take(id);
            byte[] bAtTake = TestDevices.readAll(b);
            a.write(0, SectorPattern.sectors(0, 1, 1, 1)); // one chunk copied
            FaultyFs.Fault full = fs.fail("diff", Op.WRITE, 0, Integer.MAX_VALUE, Errno.ENOSPC);
            for (int c = 1; c < 4; c++) {
                a.write((long) c * CHUNK, SectorPattern.sectors(c * (CHUNK / 512), CHUNK / 512, 2, c));
            }
            assertTrue(full.struck() >= 1, "the storage write failed");
            SnapshotEvent.Corrupted lost = assertInstanceOf(SnapshotEvent.Corrupted.class, m.waitEvent(id, 5000).orElseThrow());
            assertEquals("a", lost.device());
            assertEquals(Errno.ENOSPC, lost.errno());
            assertEquals(Optional.empty(), m.waitEvent(id, 0), "one event");
            assertEquals(-Errno.ENOSPC.code(), m.info("a").errorCode());
            assertThrows(SnapshotCorruptedException.class, () -> m.image("a").read(0, ByteBuffer.allocate(512)));
            // Every acknowledged write is on the device.
            byte[] now = TestDevices.readAll(a);
            for (int c = 1; c < 4; c++) {
                ByteBuffer expected = SectorPattern.sectors(c * (CHUNK / 512), CHUNK / 512, 2, c);
                assertArrayEquals(expected.array(), java.util.Arrays.copyOfRange(now, c * CHUNK, (c + 1) * CHUNK), "chunk " + c);
            }
            // The other device's image, never copied, still shows it at take.
            assertEquals(0, m.info("b").errorCode());
            assertArrayEquals(bAtTake, TestDevices.readAll(m.image("b")));
            fs.clear();
            m.destroy(id);
        }
    }

    /**
     * The model's growth: a storage that cannot grow because its file system is full reports
     * no_space and goes on in the room it has (DiffStorage's contract), also where the file
     * system cannot fallocate. This one cannot (jfuse offers no fallocate, so the kernel says
     * EOPNOTSUPP): the storage grows by writing its new last byte, and that write is what
     * fails with ENOSPC past the first growth step of 128 KiB (two chunks). Only when a third
     * chunk needs room does the snapshot overflow; the device keeps every write.
     */
    @Test
    void aStorageThatCannotGrowReportsNoSpaceThenOverflowsOnlyWhenFull() throws Exception {
        Files.write(fs.backingPath("diff"), new byte[0]);
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            Tracker d = m.attach("d", device("d.img"));
            UUID id = m.create(fs.path("diff"), 64L << 20, List.of("d"));
            m.take(id);
            byte[] atTake = TestDevices.readAll(d);
            FaultyFs.Fault full = fs.failAt("diff", Op.WRITE, 2L * CHUNK, Long.MAX_VALUE, 0, Integer.MAX_VALUE, Errno.ENOSPC);
            d.write(0, SectorPattern.sectors(0, 8, 5, 0));
            assertTrue(full.struck() >= 1, "the growth past 128 KiB failed");
            assertInstanceOf(SnapshotEvent.NoSpace.class, m.waitEvent(id, 5000).orElseThrow(), "no_space, not a lost image");
            assertEquals(0, m.info("d").errorCode());
            d.write(CHUNK, SectorPattern.sectors(CHUNK / 512, 8, 5, 1));
            assertArrayEquals(atTake, TestDevices.readAll(m.image("d")), "two chunks fit: the image is the device at take");
            d.write(2L * CHUNK, SectorPattern.sectors(2 * CHUNK / 512, 8, 5, 2));
            SnapshotEvent.Corrupted lost = assertInstanceOf(SnapshotEvent.Corrupted.class, m.waitEvent(id, 5000).orElseThrow());
            assertEquals(Errno.ENOSPC, lost.errno());
            ByteBuffer now = ByteBuffer.wrap(TestDevices.readAll(d));
            for (int c = 0; c < 3; c++) {
                for (int s = 0; s < 8; s++) {
                    SectorPattern.expect(now, c * (CHUNK / 512) + s, (long) c * (CHUNK / 512) + s, 5, c);
                }
            }
            fs.clear();
            m.destroy(id);
        }
    }

    /** Invariant 1 (the image's own writes): a storage write that fails corrupts the image. */
    @Test
    void anImageWriteWhoseStorageFailsMarksTheCbtAndCorruptsTheImage() throws Exception {
        Files.write(fs.backingPath("diff"), new byte[0]);
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            m.attach("d", device("d.img"));
            UUID id = m.create(fs.path("diff"), 64L << 20, List.of("d"));
            m.take(id);
            SnapshotImage image = m.image("d");
            // The chunk lands at the storage's start: the copy is the first write there, the
            // image's own bytes the second (the storage's growth writes far past it).
            FaultyFs.Fault broken = fs.failAt("diff", Op.WRITE, 0, CHUNK, 1, 1, Errno.EIO);
            assertThrows(SnapshotCorruptedException.class, () -> image.write(5L * CHUNK, SectorPattern.sectors(640, 8, 3, 1)));
            assertEquals(1, broken.struck());
            assertEquals(-Errno.EIO.code(), m.info("d").errorCode());
            int blockShift = Integer.numberOfTrailingZeros((int) m.cbtInfo("d").blockSize());
            byte[] readable = m.readCbtMap("d", (int) ((5L * CHUNK) >> blockShift), 1);
            assertEquals(m.cbtInfo("d").changesNumber(), Byte.toUnsignedInt(readable[0]),
                    "the block is marked changed although the write failed half-way");
            fs.clear();
            m.destroy(id);
        }
    }

    /**
     * Invariant 2, also while being destroyed: an image read that is still in flight when
     * destroy starts returns the take's bytes (or fails), never a device write made after.
     */
    @Test
    void anImageReadDuringDestroyNeverSeesALaterDeviceWrite() throws Exception {
        fs.close();
        fs = FaultyFs.mountBuffered(dir.resolve("backing"), dir.resolve("mnt"));
        Files.createDirectory(dir.resolve("store"));
        Path file = device("d.img");
        byte[] atTake = Files.readAllBytes(fs.backingPath("d.img"));
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            Tracker d = m.attach("d", file);
            UUID id = m.create(dir.resolve("store"), 64L << 20, List.of("d"));
            m.take(id);
            SnapshotImage image = m.image("d");
            // The read spans chunks 6 and 7; it stalls in its device read of chunk 6, with
            // chunk 7 still to come.
            long c = 7L * CHUNK;
            FaultyFs.Fault stall = fs.stall("d.img", Op.READ, c - 4096, c);
            // Own threads: the common pool may have a single thread on a small machine.
            ExecutorService threads = Executors.newFixedThreadPool(2);
            CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> {
                ByteBuffer b = ByteBuffer.allocate(4096 + 512);
                try {
                    image.read(c - 4096, b);
                    return b.array();
                } catch (ImageClosedException e) {
                    return null;
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, threads);
            stall.awaitStalled(); // the image read is in its device read of chunk 6
            CountDownLatch written = new CountDownLatch(1);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    while (d.cow() != null) {
                        Thread.onSpinWait();
                    }
                    d.write(c, SectorPattern.sectors(c / 512, 1, 9, 9)); // straight to the device
                    written.countDown();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            CompletableFuture<Void> destroyed = CompletableFuture.runAsync(() -> {
                try {
                    m.destroy(id);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, threads);
            // Destroy must wait for the read before COW goes; if it did not, the write lands
            // before the stalled read goes on.
            try {
                assertFalse(written.await(2, TimeUnit.SECONDS), "COW went off while an image read was in flight");
            } finally {
                stall.release();
            }
            byte[] got = read.get(30, TimeUnit.SECONDS);
            destroyed.get(30, TimeUnit.SECONDS);
            writer.join(30_000);
            threads.shutdown();
            assertTrue(written.getCount() == 0, "the device write went through after destroy");
            if (got != null) {
                assertArrayEquals(java.util.Arrays.copyOfRange(atTake, (int) c - 4096, (int) c + 512), got);
            }
        }
    }
}
