package org.jblksnap.nbd.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.jblksnap.backup.Cmd;
import org.jblksnap.backup.ServerProcess;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.nbd.protocol.Nbd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class NbdClientTest {
    private static final int MIB = 1 << 20;
    private static final String BITMAP = Nbd.CONTEXT_DIRTY_BITMAP_PREFIX + "b0";

    @TempDir
    Path dir;

    /** A 16 MiB qcow2 with bitmap b0 and two regions written after it was added. */
    private Path qcow2WithBitmap(byte[] expected) throws Exception {
        Path img = dir.resolve("d.qcow2");
        Cmd.run("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "16M");
        Cmd.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 1M", img.toString());
        Cmd.run("qemu-img", "bitmap", "--add", img.toString(), "b0");
        Cmd.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x22 3M 64k", "-c", "write -P 0x33 10M 2M", img.toString());
        Arrays.fill(expected, 0, MIB, (byte) 0x11);
        Arrays.fill(expected, 3 * MIB, 3 * MIB + 65536, (byte) 0x22);
        Arrays.fill(expected, 10 * MIB, 12 * MIB, (byte) 0x33);
        return img;
    }

    @Test
    void qemuNbdReadsAndReportsAllocationAndDirtyBitmap() throws Exception {
        byte[] expected = new byte[16 * MIB];
        Path img = qcow2WithBitmap(expected);
        try (ServerProcess s = ServerProcess.qemuNbd(dir, img, "qcow2", "-B", "b0");
                NbdClient c = NbdClient.connect(s.address(), "", List.of(Nbd.CONTEXT_BASE_ALLOCATION, BITMAP))) {
            assertEquals(16 * MIB, c.size());
            assertTrue(c.export().structuredReplies());
            assertEquals(Set.of(Nbd.CONTEXT_BASE_ALLOCATION, BITMAP), c.export().contexts().keySet());

            ByteBuffer all = ByteBuffer.allocate(16 * MIB);
            c.readFully(0, all);
            assertArrayEquals(expected, all.array());

            Map<String, List<Extent>> ext = c.extents(0, 16 * MIB);
            assertEquals(List.of(new Extent(3 * MIB, 65536, Nbd.STATE_DIRTY), new Extent(10 * MIB, 2 * MIB, Nbd.STATE_DIRTY)),
                    ext.get(BITMAP).stream().filter(e -> e.has(Nbd.STATE_DIRTY)).toList());
            assertCovers(ext.get(BITMAP), 0, 16 * MIB);
            List<Extent> alloc = ext.get(Nbd.CONTEXT_BASE_ALLOCATION);
            assertCovers(alloc, 0, 16 * MIB);
            for (Extent e : alloc) {
                if (e.has(Nbd.STATE_ZERO)) {
                    assertTrue(isZero(expected, e.offset(), e.length()), "zero extent " + e + " has data");
                }
            }
            long zeroBytes = alloc.stream().filter(e -> e.has(Nbd.STATE_ZERO)).mapToLong(Extent::length).sum();
            assertTrue(zeroBytes >= 12 * MIB, "most of the image is reported as zero: " + zeroBytes);
        }
    }

    @Test
    void pipelinedReadsOfManySizesMatchTheImage() throws Exception {
        byte[] expected = new byte[16 * MIB];
        Path img = qcow2WithBitmap(expected);
        try (ServerProcess s = ServerProcess.qemuNbd(dir, img, "qcow2", "-r");
                NbdClient c = NbdClient.connect(s.address(), "", List.of())) {
            Random rnd = new Random(7);
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            List<long[]> ranges = new ArrayList<>();
            List<ByteBuffer> bufs = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int len = (1 + rnd.nextInt(512)) * 512;
                long off = (long) rnd.nextInt((16 * MIB - len) / 512) * 512;
                ByteBuffer b = ByteBuffer.allocate(len);
                futures.add(c.read(off, b));
                ranges.add(new long[] {off, len});
                bufs.add(b);
            }
            for (int i = 0; i < futures.size(); i++) {
                NbdClient.await(futures.get(i));
                int off = (int) ranges.get(i)[0];
                assertArrayEquals(Arrays.copyOfRange(expected, off, off + (int) ranges.get(i)[1]), bufs.get(i).array());
            }
        }
    }

    @Test
    void listsMetaContextsAndRefusesAnUnknownExport() throws Exception {
        Path img = qcow2WithBitmap(new byte[16 * MIB]);
        try (ServerProcess s = ServerProcess.qemuNbd(dir, img, "qcow2", "-B", "b0", "-x", "disk")) {
            assertEquals(Set.of(BITMAP), NbdClient.listMetaContexts(s.address(), "disk", List.of("qemu:dirty-bitmap:")));
            NbdException e = assertThrows(NbdException.class, () -> NbdClient.connect(s.address(), "nope", List.of()));
            assertTrue(e.getMessage().contains("nope"), e.getMessage());
            try (NbdClient c = NbdClient.connect(s.address(), "disk", List.of("qemu:dirty-bitmap:other"))) {
                assertTrue(c.export().contexts().isEmpty());
                assertThrows(IllegalStateException.class, () -> c.blockStatus(0, 4096));
                assertThrows(IllegalArgumentException.class, () -> c.read(16 * MIB - 512, ByteBuffer.allocate(1024)));
            }
        }
    }

    /** A sparse file with random data in a few places. */
    private Path sparseFile(byte[] expected) throws IOException {
        Path f = dir.resolve("disk.raw");
        Random rnd = new Random(3);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(expected.length);
            for (long off : new long[] {0, 5 * MIB + 4096, 13 * MIB}) {
                byte[] data = new byte[MIB / 2];
                rnd.nextBytes(data);
                System.arraycopy(data, 0, expected, (int) off, data.length);
                ch.write(ByteBuffer.wrap(data), off);
            }
            ch.write(ByteBuffer.wrap(new byte[] {1}), expected.length - 1);
            expected[expected.length - 1] = 1;
        }
        return f;
    }

    @Test
    void nbdkitFilePluginAndBlockSizePolicySplitsLargeReads() throws Exception {
        byte[] expected = new byte[16 * MIB];
        Path f = sparseFile(expected);
        try (ServerProcess s = ServerProcess.nbdkit(dir, "--filter=blocksize-policy", "file", f.toString(),
                "blocksize-minimum=512", "blocksize-preferred=4096", "blocksize-maximum=65536",
                "blocksize-error-policy=error");
                NbdClient c = NbdClient.connect(s.address(), "", List.of(Nbd.CONTEXT_BASE_ALLOCATION, BITMAP))) {
            assertEquals(new BlockSizes(512, 4096, 65536), c.export().blockSizes());
            assertEquals(Set.of(Nbd.CONTEXT_BASE_ALLOCATION), c.export().contexts().keySet());
            ByteBuffer all = ByteBuffer.allocate(16 * MIB);
            c.readFully(0, all);
            assertArrayEquals(expected, all.array());
            List<Extent> alloc = c.extents(0, 16 * MIB).get(Nbd.CONTEXT_BASE_ALLOCATION);
            assertCovers(alloc, 0, 16 * MIB);
            assertTrue(alloc.stream().anyMatch(e -> e.has(Nbd.STATE_HOLE | Nbd.STATE_ZERO)), alloc.toString());
            for (Extent e : alloc) {
                if (e.has(Nbd.STATE_ZERO)) {
                    assertTrue(isZero(expected, e.offset(), e.length()), "zero extent " + e + " has data");
                }
            }
        }
    }

    @Test
    void aServerErrorFailsOnlyItsRequest() throws Exception {
        Path trigger = dir.resolve("errors-on");
        try (ServerProcess s = ServerProcess.nbdkit(dir, "--filter=error", "pattern", "4M", "error-pread=EIO",
                "error-pread-rate=100%", "error-pread-file=" + trigger);
                NbdClient c = NbdClient.connect(s.address(), "", List.of(Nbd.CONTEXT_BASE_ALLOCATION))) {
            ByteBuffer b = ByteBuffer.allocate(4096);
            c.readFully(8192, b);
            assertEquals(8192, b.getLong(0), "the pattern plugin stores each 8-byte offset");
            Files.createFile(trigger);
            NbdCommandException e = assertThrows(NbdCommandException.class, () -> c.readFully(0, ByteBuffer.allocate(4096)));
            assertEquals(Nbd.EIO, e.errno());
            Files.delete(trigger);
            c.readFully(4 * MIB - 4096, b.clear());
            assertEquals(4 * MIB - 4096, b.getLong(0));
            assertFalse(c.extents(0, 4 * MIB).get(Nbd.CONTEXT_BASE_ALLOCATION).isEmpty());
        }
    }

    @Test
    void simpleRepliesOverTcpWhenStructuredOnesAreRefused() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        try (ServerProcess s = ServerProcess.nbdkitTcp(dir, port, "--no-sr", "pattern", "8M");
                NbdClient c = NbdClient.connect(NbdAddress.parse(s.address().toString()), "",
                        List.of(Nbd.CONTEXT_BASE_ALLOCATION))) {
            assertFalse(c.export().structuredReplies());
            assertTrue(c.export().contexts().isEmpty());
            List<ByteBuffer> bufs = new ArrayList<>();
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                bufs.add(ByteBuffer.allocate(MIB));
                fs.add(c.read((long) i * MIB, bufs.get(i)));
            }
            ByteBuffer b = ByteBuffer.allocate(3 * MIB);
            c.readFully(5 * MIB, b);
            for (int i = 0; i < 3 * MIB; i += 8) {
                assertEquals(5L * MIB + i, b.getLong(i));
            }
            for (int k = 0; k < 4; k++) {
                NbdClient.await(fs.get(k));
                for (int i = 0; i < MIB; i += 8) {
                    assertEquals((long) k * MIB + i, bufs.get(k).getLong(i));
                }
            }
        }
    }

    @Test
    void aServerThatNeverAnswersTimesOutTheHandshake() throws Exception {
        Path sock = dir.resolve("mute.sock");
        try (ServerSocketChannel mute = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            mute.bind(UnixDomainSocketAddress.of(sock));
            NbdException e = assertThrows(NbdException.class, () -> NbdClient.connect(new NbdAddress.Unix(sock), "",
                    List.of(), List.of(), Duration.ofMillis(300)));
            assertTrue(e.getMessage().contains("did not complete the handshake"), e.getMessage());
        }
    }

    @Test
    void listsOnTheSameConnectionForServersThatTakeOneClient() throws Exception {
        Path img = qcow2WithBitmap(new byte[16 * MIB]);
        try (ServerProcess s = ServerProcess.qemuNbd(dir, img, "qcow2", "-B", "b0", "-e", "1");
                NbdClient c = NbdClient.connect(s.address(), "", List.of(Nbd.CONTEXT_BASE_ALLOCATION),
                        List.of(Nbd.CONTEXT_DIRTY_BITMAP_PREFIX))) {
            assertEquals(Set.of(BITMAP), c.export().listed());
            assertEquals(Set.of(Nbd.CONTEXT_BASE_ALLOCATION), c.export().contexts().keySet());
        }
    }

    @Test
    void parsesAddresses() {
        assertEquals(new NbdAddress.Unix(Path.of("/run/x.sock")), NbdAddress.parse("unix:/run/x.sock"));
        assertEquals(new NbdAddress.Unix(Path.of("/run/x.sock")), NbdAddress.parse("/run/x.sock"));
        assertEquals(new NbdAddress.Tcp("::1", 10809), NbdAddress.parse("[::1]:10809"));
        assertThrows(IllegalArgumentException.class, () -> NbdAddress.parse("host"));
        assertThrows(IllegalArgumentException.class, () -> NbdAddress.parse("host:0"));
    }

    @Test
    void parsesNbdUris() {
        assertEquals(new NbdUri(new NbdAddress.Tcp("h", 10809), "disk 0"), NbdUri.parse("nbd://h/disk%200"));
        assertEquals(new NbdUri(new NbdAddress.Tcp("::1", 1234), ""), NbdUri.parse("nbd://[::1]:1234"));
        assertEquals(new NbdUri(new NbdAddress.Unix(Path.of("/run/n.sock")), "vda"),
                NbdUri.parse("nbd+unix:///vda?socket=/run/n.sock"));
        for (String bad : List.of("nbd:///x", "nbd+unix:///x", "nbd+unix://h/x?socket=/s", "nfs://h/x", "x", "nbd://h/x?y=1")) {
            assertThrows(InvalidArgumentException.class, () -> NbdUri.parse(bad), bad);
        }
    }

    static void assertCovers(List<Extent> extents, long offset, long length) {
        long pos = offset;
        for (Extent e : extents) {
            assertEquals(pos, e.offset(), "extents are consecutive: " + extents);
            pos = e.end();
        }
        assertEquals(offset + length, pos, "extents cover the range: " + extents);
    }

    static boolean isZero(byte[] b, long off, long len) {
        for (long i = off; i < off + len; i++) {
            if (b[(int) i] != 0) {
                return false;
            }
        }
        return true;
    }
}
