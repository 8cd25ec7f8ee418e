package org.jblksnap.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image writes and reads at sector-aligned offsets that are not chunk-aligned. */
class ImageBoundaryTest {
    private static final int SECTOR = 512;
    private static final int CHUNK = 64 << 10;
    private static final int CS = CHUNK / SECTOR; // sectors per chunk
    /** 32 full chunks and a short last one of 3 sectors. */
    private static final long SIZE = 32L * CHUNK + 3 * SECTOR;
    private static final int SECTORS = (int) (SIZE / SECTOR);
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16",
            "tracking_block_minimum_shift", "16"));

    @TempDir
    Path dir;
    private SnapshotManager m;
    private Tracker device;
    private SnapshotImage image;
    private byte[] deviceAtTake;
    /** What the image must hold: the device at take plus the image's writes. */
    private long[] model;

    @BeforeEach
    void take() throws IOException {
        m = new SnapshotManager(PARAMS);
        device = m.attach("d", TestDevices.patternFile(dir, "d.img", SIZE));
        UUID id = m.create(Files.createDirectory(dir.resolve("store")), 64L << 20, List.of("d"));
        m.take(id);
        image = m.image("d");
        deviceAtTake = TestDevices.readAll(device);
        model = new long[SECTORS];
    }

    @AfterEach
    void close() {
        m.close();
    }

    @Test
    void writesStraddlingChunkBordersReadBackExactlyAndTouchNothingElse() throws IOException {
        int seq = 0;
        // 3 sectors before the border of chunks 0/1 to 4 after it
        imageWrite(CS - 3, 7, ++seq);
        // from the last sector of chunk 2 over all of chunk 3 into chunk 4
        imageWrite(3 * CS - 1, CS + 2, ++seq);
        // inside chunk 10, touching neither border
        imageWrite(10 * CS + 17, 5, ++seq);
        // the last full chunk into the short last chunk
        imageWrite(32 * CS - 2, 5, ++seq);
        // over a chunk the device already copied away
        TestDevices.writePattern(device, 20 * CS + 1, 1, 7, 1);
        imageWrite(20 * CS - 1, 4, ++seq);

        checkImage();
        assertArrayEquals(deviceAtTake, readDeviceExcept(20 * CS + 1), "image writes never reach the device");
        // Neighbouring chunks untouched: chunk 5 was never written, its bytes are the device's.
        byte[] chunk5 = new byte[CHUNK];
        image.read(5L * CHUNK, ByteBuffer.wrap(chunk5));
        assertArrayEquals(Arrays.copyOfRange(deviceAtTake, 5 * CHUNK, 6 * CHUNK), chunk5);
    }

    @Test
    void randomUnalignedWritesAndReadsAgreeWithTheModel() throws IOException {
        SplittableRandom random = new SplittableRandom(5);
        for (int seq = 1; seq <= 60; seq++) {
            int count = 1 + random.nextInt(2 * CS + 10);
            int first = random.nextInt(SECTORS - count + 1);
            imageWrite(first, count, seq);
            if (seq % 10 == 0) {
                // The device moves on too; the image must not follow it.
                TestDevices.writePattern(device, random.nextInt(SECTORS - 8), 8, 9, seq);
            }
        }
        // Reads of random unaligned pieces, not just whole-image reads.
        byte[] whole = TestDevices.readAll(image);
        for (int i = 0; i < 200; i++) {
            int count = 1 + random.nextInt(3 * CS);
            int first = random.nextInt(SECTORS - count + 1);
            byte[] piece = new byte[count * SECTOR];
            image.read((long) first * SECTOR, ByteBuffer.wrap(piece));
            assertArrayEquals(Arrays.copyOfRange(whole, first * SECTOR, (first + count) * SECTOR), piece,
                    "read of " + count + " sectors at " + first);
        }
        checkImage();
    }

    @Test
    void imageWritesMarkTheirBlocksDirty() throws IOException {
        int previous = m.cbtInfo("d").changesNumber();
        imageWrite(2 * CS - 1, 2, 1); // tracking blocks 1 and 2 (64 KiB blocks)
        byte[] map = m.readCbtMap("d", 0, 4);
        assertEquals(0, map[0]);
        assertEquals(previous, map[1]);
        assertEquals(previous, map[2]);
        assertEquals(0, map[3]);
    }

    @Test
    void unalignedOrOutOfRangeImageRequestsAreRefused() throws IOException {
        assertThrows(InvalidArgumentException.class, () -> image.read(100, ByteBuffer.allocate(SECTOR)));
        assertThrows(InvalidArgumentException.class, () -> image.read(0, ByteBuffer.allocate(100)));
        assertThrows(InvalidArgumentException.class, () -> image.read(SIZE - SECTOR, ByteBuffer.allocate(2 * SECTOR)));
        assertThrows(InvalidArgumentException.class, () -> image.write(SIZE, ByteBuffer.allocate(SECTOR)));
        assertThrows(InvalidArgumentException.class, () -> image.write(-SECTOR, ByteBuffer.allocate(SECTOR)));
        assertThrows(InvalidArgumentException.class, () -> image.write(CHUNK - 7, ByteBuffer.allocate(SECTOR)));
        checkImage();
        assertEquals(0, m.snapshot(image.snapshotId()).copiedChunks(), "a refused write copies nothing");
    }

    private void imageWrite(int first, int count, int seq) throws IOException {
        TestDevices.writePattern(image, first, count, 1, seq);
        for (int i = 0; i < count; i++) {
            model[first + i] = TestDevices.stamp(1, seq);
        }
    }

    /** The whole image is the device at take where the model says 0, else the image write. */
    private void checkImage() throws IOException {
        ByteBuffer got = ByteBuffer.wrap(TestDevices.readAll(image));
        ByteBuffer atTake = ByteBuffer.wrap(deviceAtTake);
        for (int s = 0; s < SECTORS; s++) {
            if (model[s] == 0) {
                assertEquals(atTake.slice(s * SECTOR, SECTOR), got.slice(s * SECTOR, SECTOR), "sector " + s);
            } else {
                SectorPattern.expect(got, s, s, TestDevices.writerOf(model[s]), TestDevices.sequenceOf(model[s]));
            }
        }
    }

    /** The device now, with the given sector put back as it was at take. */
    private byte[] readDeviceExcept(int sector) throws IOException {
        byte[] now = TestDevices.readAll(device);
        System.arraycopy(deviceAtTake, sector * SECTOR, now, sector * SECTOR, SECTOR);
        return now;
    }
}
