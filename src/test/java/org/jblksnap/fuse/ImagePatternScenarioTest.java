package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.UUID;

import org.jblksnap.image.SnapshotImage;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upstream's direct image write test (6100-snapimage_write): 1 MiB of sector patterns written
 * with O_DIRECT to the image's loop device at offsets that are not chunk aligned (126 KiB past
 * 0, 2 MiB and 4 MiB with 64 KiB chunks), read back, while the device gets its own write; and
 * the same through the FUSE file at byte offsets inside sectors. The image shows the device as
 * at take plus its own writes; the device never sees them.
 */
class ImagePatternScenarioTest {
    private static final int MIB = 1 << 20;
    private static final long[] IMAGE_OFFSETS = {126 << 10, (2048 + 126) << 10, (4096 + 126) << 10};

    @TempDir
    Path tmp;

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void patternsAtUnalignedOffsetsCrossingChunkBorders() throws Exception {
        try (Rig rig = new Rig(16384)) {
            Tracker t = rig.attach("d1", 256);
            assertEquals(16, rig.engine.params().chunkShift(t.capacity()), "64 KiB chunks");
            String device = rig.loop("d1");
            for (int it = 1; it <= 2; it++) {
                UUID id = rig.engine.create(rig.file("diff_storage-" + it, 0), 256L * MIB, List.of("d1"));
                rig.engine.take(id);
                String name = SnapshotImage.name("d1", id);
                String image = rig.loop(name);

                writePattern(Path.of(device), 0, 100, it);
                for (int k = 0; k < IMAGE_OFFSETS.length; k++) {
                    writePattern(Path.of(image), IMAGE_OFFSETS[k], 200 + k, it);
                }
                ChildProcess.of("sync", image).check();
                for (int k = 0; k < IMAGE_OFFSETS.length; k++) {
                    expectPattern(Path.of(image), IMAGE_OFFSETS[k], 200 + k, it);
                }
                expectPattern(Path.of(device), 0, 100, it);
                // Before the first 126 KiB, the image shows the device at take.
                ByteBuffer head = read(Path.of(image), 0, 126 << 10);
                for (int s = 0; s < 252; s++) {
                    if (it == 1) {
                        assertEquals(0, head.getLong(s * 512), "sector " + s + " was zero at take");
                    } else {
                        SectorPattern.expect(head, s, s, 100, it - 1);
                    }
                }
                // The device never sees the image's writes.
                ByteBuffer untouched = ByteBuffer.allocate(MIB);
                t.read(IMAGE_OFFSETS[1], untouched);
                assertArrayEquals(new byte[MIB], untouched.array());

                unalignedThroughTheFile(rig.exports.file(name), it);
                rig.engine.destroy(id);
                rig.exports.loops().settle();
                assertEquals(null, LoopSysfs.backingFile(image));
            }
        }
    }

    /** 1 MiB at a byte offset inside a sector, across chunk borders, through the FUSE file. */
    private static void unalignedThroughTheFile(Path file, int it) throws IOException {
        long at = (6144L << 10) + (126 << 10) + 100;
        ByteBuffer data = SectorPattern.sectors(at >> 9, MIB / 512, 300, it);
        ByteBuffer before = ByteBuffer.allocate(MIB + 1024);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.read(before, at - 512);
            assertEquals(MIB, ch.write(data.duplicate(), at));
            ByteBuffer back = ByteBuffer.allocate(MIB);
            ch.read(back, at);
            assertArrayEquals(data.array(), back.array(), "1 MiB at byte offset " + at);
            ByteBuffer around = ByteBuffer.allocate(MIB + 1024);
            ch.read(around, at - 512);
            byte[] expected = before.array().clone();
            System.arraycopy(data.array(), 0, expected, 512, MIB);
            assertArrayEquals(expected, around.array(), "the bytes around the write are kept");
        }
    }

    /**
     * Java's O_DIRECT wants 4 KiB alignment; the loop devices take 512 bytes, so dd does the
     * I/O in 1 KiB blocks as upstream does.
     */
    private void writePattern(Path dev, long offset, int writer, long seq) throws IOException {
        Path file = tmp.resolve("pattern-" + writer + "-" + seq);
        Files.write(file, SectorPattern.sectors(offset >> 9, MIB / 512, writer, seq).array());
        ChildProcess.of("dd", "if=" + file, "of=" + dev, "bs=1K", "count=1024", "seek=" + (offset >> 10),
                "oflag=direct", "conv=notrunc", "status=none").check();
    }

    private void expectPattern(Path dev, long offset, int writer, long seq) throws IOException {
        ByteBuffer b = read(dev, offset, MIB);
        for (int i = 0; i < MIB / 512; i++) {
            SectorPattern.expect(b, i, (offset >> 9) + i, writer, seq);
        }
    }

    private ByteBuffer read(Path dev, long offset, int length) throws IOException {
        Path file = tmp.resolve("read");
        ChildProcess.of("dd", "if=" + dev, "of=" + file, "bs=1K", "count=" + (length >> 10), "skip=" + (offset >> 10),
                "iflag=direct", "status=none").check();
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        assertEquals(length, b.remaining());
        return b;
    }
}
