package org.jblksnap.cow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.jblksnap.cbt.CbtMap;
import org.jblksnap.device.BlockDevice;
import org.jblksnap.diff.DiffStorage;
import org.jblksnap.error.Errno;
import org.jblksnap.error.SnapshotCorruptedException;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What copy-on-write copies, and when, on one device. */
class ChunkMapTest {
    private static final int SHIFT = 16;
    private static final int CHUNK = 1 << SHIFT;
    /** 8 chunks and a short ninth of 4 KiB. */
    private static final long SIZE = 8L * CHUNK + 4096;
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16",
            "diff_storage_minimum", "2048"));

    @TempDir
    Path dir;
    private BlockDevice device;
    private DiffStorage storage;
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private ChunkMap chunks;

    @BeforeEach
    void open() throws IOException {
        device = BlockDevice.open(TestDevices.patternFile(dir, "d.img", SIZE));
        storage = DiffStorage.open(dir, 64L << 20, PARAMS, sectors -> { });
        chunks = newMap(storage);
    }

    private ChunkMap newMap(DiffStorage s) {
        CowHealth health = new CowHealth((dev, errno, cause) -> failures.add(dev + " " + errno));
        return new ChunkMap("d", device, SHIFT, s, new ChunkBufferPool(CHUNK, 4, 2), health);
    }

    @AfterEach
    void close() throws IOException {
        storage.close();
        device.close();
    }

    @Test
    void aOneSectorWriteCopiesItsWholeChunkOnce() throws IOException {
        assertEquals(9, chunks.chunkCount());
        chunks.beforeDeviceWrite(3L * CHUNK + 512, 512);
        assertEquals(1, chunks.copiedChunks());
        assertEquals(CHUNK, storage.filled());
        chunks.beforeDeviceWrite(3L * CHUNK, CHUNK);
        assertEquals(1, chunks.copiedChunks(), "a copied chunk is never copied again");
        // One byte over a border touches two chunks.
        chunks.beforeDeviceWrite(5L * CHUNK - 512, 1024);
        assertEquals(3, chunks.copiedChunks());
        // The short last chunk copies only what the device has.
        chunks.beforeDeviceWrite(SIZE - 512, 512);
        assertEquals(4, chunks.copiedChunks());
        assertEquals(3L * CHUNK + 4096, storage.filled());
        chunks.beforeDeviceWrite(0, 0);
        assertEquals(4, chunks.copiedChunks());
    }

    @Test
    void theImageReadsCopiedChunksFromTheStorageAndOthersFromTheDevice() throws IOException {
        byte[] atTake = TestDevices.readAll(device);
        chunks.beforeDeviceWrite(CHUNK, CHUNK);
        TestDevices.writePattern(device, CHUNK / 512, CHUNK / 512, 1, 1);
        chunks.beforeDeviceWrite(SIZE - 4096, 4096);
        TestDevices.writePattern(device, (SIZE - 4096) / 512, 8, 1, 2);
        byte[] image = new byte[(int) SIZE];
        chunks.readImage(0, ByteBuffer.wrap(image));
        assertArrayEquals(atTake, image);
    }

    @Test
    void aClosedStorageFailsTheImageButNotTheDeviceWrite() throws IOException {
        storage.close(); // closing again in close() is harmless
        chunks.beforeDeviceWrite(0, 512); // must not throw: the device write goes on
        assertEquals(List.of("d " + Errno.EIO), failures, "an I/O error, not an overflow");
        assertFalse(chunks.health().ok());
        assertThrows(SnapshotCorruptedException.class, () -> chunks.readImage(CHUNK, ByteBuffer.allocate(512)));
        assertThrows(SnapshotCorruptedException.class, () -> chunks.writeImage(CHUNK, ByteBuffer.allocate(512)));
        chunks.beforeDeviceWrite(CHUNK, 512);
        assertEquals(0, chunks.copiedChunks(), "COW is off after the failure");
        assertEquals(1, failures.size(), "the failure is reported once");
    }

    @Test
    void memoryRunningOutFailsTheImageNeverTheWriteAndLosesNoBuffer() throws IOException {
        AtomicInteger allocations = new AtomicInteger();
        ChunkBufferPool pool = new ChunkBufferPool(CHUNK, 4, 0, size -> {
            if (allocations.incrementAndGet() == 1) {
                throw new OutOfMemoryError("Direct buffer memory");
            }
            return ByteBuffer.allocateDirect(size);
        });
        CowHealth health = new CowHealth((dev, errno, cause) -> failures.add(dev + " " + errno));
        ChunkMap map = new ChunkMap("d", device, SHIFT, storage, pool, health);
        Tracker t = new Tracker("d", device, new CbtMap(SIZE, PARAMS));
        t.freeze();
        t.setCowWhileFrozen(map);
        t.thaw();
        ByteBuffer written = SectorPattern.sectors(0, 1, 7, 7);
        t.write(0, written.duplicate()); // the copy runs out of memory; the write goes on
        assertEquals(List.of("d " + Errno.ENOMEM), failures);
        ByteBuffer back = ByteBuffer.allocate(512);
        device.read(0, back);
        assertArrayEquals(written.array(), back.array(), "the device got the write");
        assertEquals(4, pool.available(), "the failed allocation gave its buffer permit back");
        assertThrows(SnapshotCorruptedException.class, () -> map.readImage(0, ByteBuffer.allocate(512)));
    }

    @Test
    void aChunkThatCannotBeReadFromTheDeviceFailsWithEio() throws IOException {
        try (FileChannel ch = FileChannel.open(device.path(), StandardOpenOption.WRITE)) {
            ch.truncate(4L * CHUNK);
        }
        chunks.beforeDeviceWrite(0, 512);
        assertEquals(1, chunks.copiedChunks());
        chunks.beforeDeviceWrite(6L * CHUNK, 512); // past the shrunk end: the copy cannot read it
        assertEquals(List.of("d " + Errno.EIO), failures);
        assertThrows(SnapshotCorruptedException.class, () -> chunks.readImage(0, ByteBuffer.allocate(512)));
    }
}
