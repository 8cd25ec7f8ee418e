package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.jblksnap.image.SnapshotImage;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The FUSE files themselves, without loop devices: names, sizes, bytes, errors. */
class FuseExportsTest {
    private static final long MIB = 1 << 20;

    @BeforeEach
    void kernel() {
        Kernel.assumeFuse();
    }

    @Test
    void filesComeAndGoWithDevicesAndImages() throws Exception {
        try (Rig rig = new Rig(16384)) {
            Path mnt = rig.exports.mountDir();
            assertEquals(Set.of(), list(mnt));
            rig.attach("d0", 16);
            rig.attach("d1", 8);
            assertEquals(Set.of("d0", "d1"), list(mnt));
            assertEquals(16 * MIB, Files.size(mnt.resolve("d0")));
            assertEquals(8 * MIB, Files.size(mnt.resolve("d1")));

            UUID id = rig.engine.create(rig.dir, 64 * MIB, List.of("d0"));
            assertEquals(Set.of("d0", "d1"), list(mnt), "no image before take");
            rig.engine.take(id);
            String image = SnapshotImage.name("d0", id);
            assertEquals(Set.of("d0", "d1", image), list(mnt));
            assertEquals(16 * MIB, Files.size(mnt.resolve(image)));

            rig.engine.destroy(id);
            assertEquals(Set.of("d0", "d1"), list(mnt));
            assertFalse(Files.exists(mnt.resolve(image)));
            rig.engine.detach("d1");
            assertEquals(Set.of("d0"), list(mnt));
            assertFalse(Files.exists(mnt.resolve("d1")));
        }
    }

    @Test
    void exportsPresentBeforeTheMountAreServed() throws Exception {
        try (Rig rig = new Rig(16384)) {
            rig.attach("late", 4);
            UUID id = rig.engine.create(rig.dir, 64 * MIB, List.of("late"));
            rig.engine.take(id);
            try (FuseExports second = new FuseExports(rig.engine, rig.dir.resolve("second"))) {
                assertEquals(Set.of("late", SnapshotImage.name("late", id)), list(second.mountDir()));
            }
        }
    }

    @Test
    void unalignedWritesThroughTheFileReachTheTrackerAndTheCbt() throws Exception {
        try (Rig rig = new Rig(16384)) {
            Tracker t = rig.attach("d0", 4);
            byte[] expected = new byte[(int) (4 * MIB)];
            SplittableRandom random = new SplittableRandom(7);
            try (FileChannel ch = FileChannel.open(rig.exports.file("d0"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                long[][] writes = {{3, 100}, {511, 2}, {1000, 70_000}, {3 * MIB - 5, 1 << 20}, {200_000, 512}};
                for (long[] w : writes) {
                    byte[] data = new byte[(int) Math.min(w[1], 4 * MIB - w[0])];
                    random.nextBytes(data);
                    System.arraycopy(data, 0, expected, (int) w[0], data.length);
                    assertEquals(data.length, ch.write(ByteBuffer.wrap(data), w[0]));
                }
                ch.force(false);
                ByteBuffer viaFuse = ByteBuffer.allocate(expected.length);
                while (viaFuse.hasRemaining() && ch.read(viaFuse, viaFuse.position()) > 0) {
                    // read to the end
                }
                assertArrayEquals(expected, viaFuse.array(), "bytes read back through the FUSE file");
            }
            ByteBuffer direct = ByteBuffer.allocate(expected.length);
            t.read(0, direct);
            assertArrayEquals(expected, direct.array(), "bytes on the tracked device");
            byte[] map = rig.engine.readCbtMap("d0", 0, t.cbt().blockCount());
            int blockOf3MiB = (int) ((3 * MIB - 5) >> t.cbt().blockShift());
            assertEquals(0, map[0], "the readable CBT map only changes at take");
            UUID id = rig.engine.create(rig.dir, 64 * MIB, List.of("d0"));
            rig.engine.take(id);
            byte[] after = rig.engine.readCbtMap("d0", 0, t.cbt().blockCount());
            assertEquals(1, after[0], "block 0 was written before the first take");
            assertEquals(1, after[blockOf3MiB]);
            rig.engine.destroy(id);
        }
    }

    @Test
    void imageWritesGoToTheImageNeverToTheDevice() throws Exception {
        try (Rig rig = new Rig(16384)) {
            Tracker t = rig.attach("d0", 4);
            byte[] before = new byte[(int) (4 * MIB)];
            new SplittableRandom(1).nextBytes(before);
            t.write(0, ByteBuffer.wrap(before));
            UUID id = rig.engine.create(rig.dir, 64 * MIB, List.of("d0"));
            rig.engine.take(id);
            Path image = rig.exports.file(SnapshotImage.name("d0", id));
            byte[] patch = new byte[300_001];
            new SplittableRandom(2).nextBytes(patch);
            try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                assertEquals(patch.length, ch.write(ByteBuffer.wrap(patch), 65_530));
                ByteBuffer back = ByteBuffer.allocate(patch.length);
                ch.read(back, 65_530);
                assertArrayEquals(patch, back.array());
                ByteBuffer head = ByteBuffer.allocate(65_530);
                ch.read(head, 0);
                assertArrayEquals(java.util.Arrays.copyOf(before, 65_530), head.array());
            }
            ByteBuffer device = ByteBuffer.allocate(before.length);
            t.read(0, device);
            assertArrayEquals(before, device.array(), "the device is untouched by image writes");
            rig.engine.destroy(id);
        }
    }

    @Test
    void readsSeeWritesMadeBesideTheMount() throws Exception {
        try (Rig rig = new Rig(16384)) {
            Tracker t = rig.attach("d0", 1);
            assertTrue(rig.exports.directIo(), "FUSE direct_io is on");
            try (FileChannel ch = FileChannel.open(rig.exports.file("d0"), StandardOpenOption.READ)) {
                ByteBuffer first = ByteBuffer.allocate(4096);
                ch.read(first, 0);
                assertEquals(0, first.get(0));
                ByteBuffer ones = ByteBuffer.allocate(4096);
                java.util.Arrays.fill(ones.array(), (byte) 1);
                t.write(0, ones);
                ByteBuffer again = ByteBuffer.allocate(4096);
                ch.read(again, 0);
                assertArrayEquals(ones.array(), again.array(), "no stale page cache while the file stays open");
            }
        }
    }

    @Test
    void errorsMapToErrno() throws Exception {
        try (Rig rig = new Rig(16384)) {
            rig.attach("d0", 1);
            Path f = rig.exports.file("d0");
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                IOException full = assertThrows(IOException.class, () -> ch.write(ByteBuffer.allocate(512), MIB));
                assertTrue(full.getMessage().contains("No space left on device"), full.getMessage());
                assertEquals(-1, ch.read(ByteBuffer.allocate(512), MIB), "a read at the end is end of file");
                assertEquals(100, ch.write(ByteBuffer.allocate(612), MIB - 100), "a write over the end is short");
                IOException resize = assertThrows(IOException.class, () -> ch.truncate(512));
                assertTrue(resize.getMessage().contains("Invalid argument"), resize.getMessage());
            }
            IOException create = assertThrows(IOException.class, () -> Files.createFile(rig.exports.mountDir().resolve("new")));
            assertFalse(Files.exists(rig.exports.mountDir().resolve("new")), create.getMessage());
            assertThrows(IOException.class, () -> Files.delete(f));
            assertTrue(Files.exists(f));
        }
    }

    private static Set<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }
}
