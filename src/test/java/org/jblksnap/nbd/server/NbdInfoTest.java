package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.jblksnap.image.SnapshotImage;
import org.jblksnap.testutil.SectorPattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** nbdinfo against the server: export details, the export list, and --map of each context. */
class NbdInfoTest {
    private static final long SIZE = 64L << 20;
    private static final int BLOCK = 64 << 10;

    @TempDir
    Path dir;

    @BeforeAll
    static void tools() {
        Tools.require("nbdinfo");
    }

    /** One line of nbdinfo --map: offset, length, type. */
    record Extent(long offset, long length, int type) {
    }

    private List<Extent> map(String context, String uri) throws Exception {
        String out = Tools.ok(dir, 60, "nbdinfo", "--map=" + context, uri);
        List<Extent> extents = new ArrayList<>();
        for (String line : out.strip().split("\n")) {
            String[] f = line.strip().split("\\s+");
            extents.add(new Extent(Long.parseLong(f[0]), Long.parseLong(f[1]), Integer.parseInt(f[2])));
        }
        long pos = 0;
        for (Extent e : extents) {
            assertEquals(pos, e.offset(), "extents are consecutive: " + out);
            pos += e.length();
        }
        assertEquals(SIZE, pos, "extents cover the export: " + out);
        return extents;
    }

    /** Offsets of the BLOCK-sized blocks whose type has the given bit. */
    private static List<Long> blocksWith(List<Extent> extents, int bit) {
        List<Long> blocks = new ArrayList<>();
        for (Extent e : extents) {
            if ((e.type() & bit) != 0) {
                for (long o = e.offset(); o < e.offset() + e.length(); o += BLOCK) {
                    blocks.add(o / BLOCK);
                }
            }
        }
        return blocks;
    }

    private static void writeBlock(NbdFixture f, long block, long seq) throws Exception {
        ByteBuffer b = SectorPattern.sectors(block * BLOCK / 512, BLOCK / 512, 3, seq);
        f.tracker.write(block * BLOCK, b);
    }

    @Test
    void plainAndList() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            String image = f.takeSnapshot();
            String plain = Tools.ok(dir, 60, "nbdinfo", f.uri(NbdFixture.DEVICE));
            assertTrue(plain.contains("export-size: " + SIZE), plain);
            assertTrue(plain.contains("can_multi_conn: true"), plain);
            assertTrue(plain.contains("is_read_only: false"), plain);
            assertTrue(plain.contains("block_size_minimum: 512"), plain);

            String list = Tools.ok(dir, 60, "nbdinfo", "--list", f.uri(""));
            assertTrue(list.contains("export=\"" + NbdFixture.DEVICE + "\""), list);
            assertTrue(list.contains("export=\"" + image + "\""), list);
            assertTrue(list.contains("description: snapshot image of disk0"), list);
            assertTrue(list.contains("qemu:dirty-bitmap:cbt-" + f.tracker.cbt().generation() + "-0"), list);

            Tools.Result unknown = Tools.run(dir, 60, "nbdinfo", f.uri("no-such-export"));
            assertNotEquals(0, unknown.exit());
        }
    }

    @Test
    void mapBaseAllocationShowsHolesOfTheDeviceFile() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            writeBlock(f, 3, 1);
            writeBlock(f, 700, 1);
            List<Extent> m = map("base:allocation", f.uri(NbdFixture.DEVICE));
            for (Extent e : m) {
                assertTrue(e.type() == 0 || e.type() == 3, "holes read as zeroes: " + m);
            }
            assertEquals(List.of(3L, 700L), blocksOfType(m, 0), m.toString());

            // An untouched image has the device's holes.
            String image = f.takeSnapshot();
            assertEquals(m, map("base:allocation", f.uri(image)));

            // After take, a device write into a hole copies its chunk, and an image write goes
            // to the difference storage: the image reports both chunks as data, although the
            // first still reads as zeroes; the device reports only what it holds now.
            SnapshotImage snap = f.engine.image(NbdFixture.DEVICE);
            int chunkBlocks = (int) (snap.chunkEnd(0) / BLOCK);
            writeBlock(f, 10L * chunkBlocks + 1, 2);
            snap.write(20L * chunkBlocks * BLOCK, SectorPattern.sectors(20L * chunkBlocks * BLOCK / 512, 8, 4, 1));
            List<Long> imageData = new ArrayList<>(List.of(3L, 700L));
            for (long b = 0; b < chunkBlocks; b++) {
                imageData.add(10L * chunkBlocks + b);
                imageData.add(20L * chunkBlocks + b);
            }
            imageData.sort(null);
            List<Extent> im = map("base:allocation", f.uri(image));
            assertEquals(imageData, blocksOfType(im, 0), im.toString());
            assertEquals(List.of(3L, 10L * chunkBlocks + 1, 700L),
                    blocksOfType(map("base:allocation", f.uri(NbdFixture.DEVICE)), 0));

            // Every hole the image reports reads as zeroes from the image.
            for (Extent e : im) {
                if (e.type() != 0) {
                    ByteBuffer b = ByteBuffer.allocate((int) e.length());
                    snap.read(e.offset(), b);
                    assertTrue(b.flip().equals(ByteBuffer.allocate((int) e.length())), "hole at " + e.offset());
                }
            }
        }
    }

    /** Offsets of the BLOCK-sized blocks whose type is exactly type. */
    private static List<Long> blocksOfType(List<Extent> extents, int type) {
        List<Long> blocks = new ArrayList<>();
        for (Extent e : extents) {
            if (e.type() == type) {
                for (long o = e.offset(); o < e.offset() + e.length(); o += BLOCK) {
                    blocks.add(o / BLOCK);
                }
            }
        }
        return blocks;
    }

    @Test
    void mapDirtyBitmapBetweenTwoSnapshots() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            writeBlock(f, 1, 1);               // before snapshot 1: active 1
            f.takeSnapshot();
            writeBlock(f, 5, 2);               // between the snapshots: active 2
            writeBlock(f, 6, 2);
            f.destroySnapshot();
            String image = f.takeSnapshot();   // previous 2
            UUID gen = f.tracker.cbt().generation();
            try (NbdFixture.DeviceWriter w = f.startDeviceWriter()) {
                writeBlock(f, 9, 3);           // after the take: not in this image's map

                String list = Tools.ok(dir, 60, "nbdinfo", "--list", "--content", f.uri(""));
                assertTrue(list.contains("qemu:dirty-bitmap:cbt-" + gen + "-1"), "LIST gives previous - 1: " + list);

                String since1 = "qemu:dirty-bitmap:cbt-" + gen + "-1";
                assertEquals(List.of(5L, 6L), blocksWith(map(since1, f.uri(image)), 1));
                assertEquals(List.of(1L, 5L, 6L), blocksWith(map("qemu:dirty-bitmap:cbt-" + gen + "-0", f.uri(image)), 1));
                assertEquals(List.of(), blocksWith(map("qemu:dirty-bitmap:cbt-" + gen + "-2", f.uri(image)), 1));

                // Another generation, or a backup number not reached, matches nothing.
                for (String none : List.of("qemu:dirty-bitmap:cbt-" + UUID.randomUUID() + "-1",
                        "qemu:dirty-bitmap:cbt-" + gen + "-3", "qemu:dirty-bitmap:cbt-" + gen + "-01")) {
                    Tools.Result r = Tools.run(dir, 60, "nbdinfo", "--map=" + none, f.uri(image));
                    assertNotEquals(0, r.exit(), none + " must not be served: " + r.all());
                }
                assertTrue(w.writes() > 0);
            }
        }
    }

    @Test
    void tcpListenerOnLoopbackWithAFreePort() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            InetSocketAddress a = f.server.listenTcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), null);
            assertTrue(a.getPort() > 0);
            String out = Tools.ok(dir, 60, "nbdinfo", "nbd://127.0.0.1:" + a.getPort() + "/" + NbdFixture.DEVICE);
            assertTrue(out.contains("export-size: " + SIZE), out);
            assertTrue(f.server.addresses().contains(a), f.server.addresses().toString());
        }
    }
}
