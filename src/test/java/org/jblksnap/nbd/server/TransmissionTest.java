package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.jblksnap.device.BlockIo;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.testutil.SectorPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The transmission phase seen by a raw client: ordering, reply shapes, endings. */
class TransmissionTest {
    private static final long SIZE = 16L << 20;

    @TempDir
    Path dir;

    /** A memory disk whose reads of offset 0 wait for a latch: a slow request. */
    private static final class SlowDisk implements BlockIo {
        final byte[] data = new byte[1 << 20];
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public long capacity() {
            return data.length;
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            if (offset == 0) {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            dst.put(data, (int) offset, dst.remaining());
        }

        @Override
        public synchronized void write(long offset, ByteBuffer src) {
            src.get(data, (int) offset, src.remaining());
        }

        @Override
        public void flush() {
        }
    }

    @Test
    void aSlowRequestDoesNotHoldUpLaterOnes() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE); RawClient c = new RawClient(f.socket)) {
            SlowDisk disk = new SlowDisk();
            f.server.exports().add(new Export("slow", "", disk, false));
            c.open("slow", true);
            c.request(0, Nbd.CMD_READ, 1, 0, 4096);
            // One at a time: a write and a read sent together may finish in either order.
            c.request(0, Nbd.CMD_WRITE, 2, 8192, 512, ByteBuffer.wrap(new byte[512]).put(0, (byte) 7));
            assertEquals(2, c.replies().getFirst().cookie());
            c.request(0, Nbd.CMD_READ, 3, 8192, 512);
            assertEquals(3, c.replies().getFirst().cookie());
            disk.release.countDown();
            assertEquals(1, c.replies().getFirst().cookie());
        }
    }

    @Test
    void structuredReadsSendHolesForZeroesUnlessDontFragment() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE); RawClient c = new RawClient(f.socket)) {
            ByteBuffer b = SectorPattern.sectors(16, 8, 1, 1);
            f.tracker.write(16 * 512, b);   // data at 8 KiB..12 KiB, zeroes around it
            c.open(NbdFixture.DEVICE, true);
            c.request(0, Nbd.CMD_READ, 1, 0, 32768);
            List<RawClient.Reply> r = c.replies();
            assertEquals(List.of(Nbd.REPLY_TYPE_OFFSET_HOLE, Nbd.REPLY_TYPE_OFFSET_DATA, Nbd.REPLY_TYPE_OFFSET_HOLE),
                    r.stream().map(RawClient.Reply::type).toList());
            ByteBuffer hole = ByteBuffer.wrap(r.get(0).data());
            assertEquals(0, hole.getLong());
            assertEquals(8192, hole.getInt());
            ByteBuffer data = ByteBuffer.wrap(r.get(1).data());
            assertEquals(8192, data.getLong());
            assertEquals(4096, data.remaining());
            hole = ByteBuffer.wrap(r.get(2).data());
            assertEquals(12288, hole.getLong());
            assertEquals(32768 - 12288, hole.getInt());
            assertTrue(r.get(2).done());

            c.request(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 2, 0, 32768);
            r = c.replies();
            assertEquals(1, r.size());
            assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, r.getFirst().type());
            byte[] expected = new byte[8 + 32768];
            b.rewind().get(expected, 8 + 8192, 4096);
            byte[] got = r.getFirst().data();
            System.arraycopy(got, 0, expected, 0, 8);
            assertArrayEquals(expected, got);
        }
    }

    @Test
    void blockStatusWithReqOneGivesOneExtentWithinTheRequest() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE); RawClient c = new RawClient(f.socket)) {
            f.tracker.write(1 << 20, SectorPattern.sectors(2048, 128, 1, 1));
            c.open(NbdFixture.DEVICE, true, "base:allocation", "base:nothing", "x-other:thing");
            c.request(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_BLOCK_STATUS, 1, 0, 2 << 20);
            List<RawClient.Reply> r = c.replies();
            assertEquals(1, r.size());
            ByteBuffer d = ByteBuffer.wrap(r.getFirst().data());
            assertEquals(Nbd.REPLY_TYPE_BLOCK_STATUS, r.getFirst().type());
            assertEquals(1, d.getInt(), "the id SET gave base:allocation");
            assertEquals(1 << 20, d.getInt());
            assertEquals(Nbd.STATE_HOLE | Nbd.STATE_ZERO, d.getInt());
            assertEquals(0, d.remaining());

            c.request(0, Nbd.CMD_BLOCK_STATUS, 2, 0, 4 << 20);
            d = ByteBuffer.wrap(c.replies().getFirst().data());
            d.getInt();
            List<Integer> flat = new ArrayList<>();
            while (d.hasRemaining()) {
                flat.add(d.getInt());
            }
            assertEquals(List.of(1 << 20, 3, 64 << 10, 0, (3 << 20) - (64 << 10), 3), flat);
        }
    }

    @Test
    void discFinishesTheWritesInFlight() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            try (RawClient c = new RawClient(f.socket)) {
                c.open(NbdFixture.DEVICE, true);
                for (int i = 0; i < 64; i++) {
                    c.request(0, Nbd.CMD_WRITE, i, i * 65536L, 65536, SectorPattern.sectors(i * 128L, 128, 9, 1));
                }
                c.request(0, Nbd.CMD_DISC, 99, 0, 0);
                int replies = 0;
                try {
                    while (true) {
                        assertEquals(0, c.reply().error());
                        replies++;
                    }
                } catch (EOFException end) {
                    assertEquals(64, replies, "every request before DISC is answered, then the server hangs up");
                }
            }
            ByteBuffer b = ByteBuffer.allocate(64 * 65536);
            f.tracker.read(0, b);
            for (int s = 0; s < 64 * 128; s++) {
                SectorPattern.expect(b, s, s, 9, 1);
            }
        }
    }

    @Test
    void destroyedImageEndsItsConnectionsCleanly() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            f.fillDevice(1);
            String image = f.takeSnapshot();
            try (RawClient c = new RawClient(f.socket); RawClient dev = new RawClient(f.socket)) {
                c.open(image, true);
                dev.open(NbdFixture.DEVICE, true);
                c.request(0, Nbd.CMD_READ, 1, 0, 4096);
                assertEquals(0, c.error());
                f.destroySnapshot();
                assertTrue(f.server.exports().get(image).isEmpty());
                // Whatever the client still sends is answered with ESHUTDOWN, then the server hangs up.
                try {
                    c.request(0, Nbd.CMD_READ, 2, 0, 4096);
                    assertEquals(Nbd.ESHUTDOWN, c.error());
                } catch (IOException closedAlready) {
                    // the goodbye came first: also clean
                }
                assertTrue(c.closedByServer());
                dev.request(0, Nbd.CMD_READ, 3, 0, 4096);
                assertEquals(0, dev.error(), "the device export is not affected");
            }
            try (RawClient late = new RawClient(f.socket)) {
                late.greet(Nbd.FLAG_C_FIXED_NEWSTYLE);
                late.option(Nbd.OPT_GO, RawClient.infoData(image));
                assertEquals(Nbd.REP_ERR_UNKNOWN, late.optionReply().type());
            }
        }
    }

    @Test
    void closingTheServerEndsConnectionsInTheHandshakeAndInTransmission() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            try (RawClient active = new RawClient(f.socket); RawClient haggling = new RawClient(f.socket)) {
                active.open(NbdFixture.DEVICE, true);
                active.request(0, Nbd.CMD_READ, 1, 0, 4096);
                assertEquals(0, active.error());
                haggling.greet(Nbd.FLAG_C_FIXED_NEWSTYLE);
                long start = System.nanoTime();
                f.server.close();
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                // The client in transmission gets its grace time to leave, no more.
                assertTrue(tookMs < 5_000, "close took " + tookMs + " ms");
                assertEquals(0, f.server.connectionCount(), "every connection ended");
                assertTrue(active.closedByServer());
                assertTrue(haggling.closedByServer());
            }
        }
    }

    @Test
    void flushOnOneConnectionAndWritesOnManyAgree() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE); RawClient a = new RawClient(f.socket);
                RawClient b = new RawClient(f.socket)) {
            long[] info = a.open(NbdFixture.DEVICE, true);
            assertEquals(Nbd.FLAG_CAN_MULTI_CONN, info[1] & Nbd.FLAG_CAN_MULTI_CONN);
            b.open(NbdFixture.DEVICE, false);
            a.request(Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, 1, 0, 4096, SectorPattern.sectors(0, 8, 5, 1));
            assertEquals(0, a.error());
            b.request(0, Nbd.CMD_WRITE, 2, 4096, 4096, SectorPattern.sectors(8, 8, 5, 1));
            assertEquals(0, b.simpleReply(0).error());
            a.request(0, Nbd.CMD_FLUSH, 3, 0, 0);
            assertEquals(0, a.error());
            b.request(0, Nbd.CMD_READ, 4, 0, 8192);
            ByteBuffer d = ByteBuffer.wrap(b.simpleReply(8192).data());
            for (int s = 0; s < 16; s++) {
                SectorPattern.expect(d, s, s, 5, 1);
            }
            a.request(0, Nbd.CMD_WRITE_ZEROES, 5, 0, 4096);
            assertEquals(0, a.error());
            a.request(0, Nbd.CMD_TRIM, 6, 4096, 4096);
            assertEquals(0, a.error());
            a.request(0, Nbd.CMD_CACHE, 7, 0, 1 << 20);
            assertEquals(0, a.error());
            b.request(0, Nbd.CMD_READ, 8, 0, 4096);
            assertArrayEquals(new byte[4096], b.simpleReply(4096).data());
        }
    }

    @Test
    void infoAndGoAgreeOnSizeAndFlags() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE); RawClient c = new RawClient(f.socket)) {
            c.greet(Nbd.FLAG_C_FIXED_NEWSTYLE);
            c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
            assertEquals(Nbd.REP_ACK, c.optionReply().type());
            byte[] request = RawClient.infoData(NbdFixture.DEVICE, Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION, Nbd.INFO_BLOCK_SIZE);
            c.option(Nbd.OPT_INFO, request);
            List<RawClient.OptionReply> info = c.optionReplies();
            c.option(Nbd.OPT_GO, request);
            List<RawClient.OptionReply> go = c.optionReplies();
            assertEquals(Nbd.REP_ACK, go.getLast().type());
            assertEquals(info.size(), go.size());
            for (int i = 0; i < info.size(); i++) {
                assertEquals(info.get(i).type(), go.get(i).type());
                assertArrayEquals(info.get(i).data(), go.get(i).data());
            }
            ByteBuffer export = ByteBuffer.wrap(info.getFirst().data());
            assertEquals(Nbd.INFO_EXPORT, export.getShort());
            assertEquals(SIZE, export.getLong());
            int flags = export.getShort() & 0xffff;
            assertEquals(Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_TRIM
                    | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_DF | Nbd.FLAG_CAN_MULTI_CONN | Nbd.FLAG_SEND_CACHE
                    | Nbd.FLAG_SEND_FAST_ZERO, flags);
            List<String> texts = info.stream().filter(r -> r.type() == Nbd.REP_INFO)
                    .map(r -> new String(r.data(), 2, r.data().length - 2, java.nio.charset.StandardCharsets.UTF_8)).toList();
            assertTrue(texts.contains(NbdFixture.DEVICE), texts.toString());
            assertTrue(texts.contains("tracked device " + f.deviceFile), texts.toString());
            c.request(0, Nbd.CMD_READ, 1, 0, 512);
            assertEquals(0, c.error());
        }
    }

    @Test
    void listMetaContextQueries() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE); RawClient c = new RawClient(f.socket)) {
            f.takeSnapshot();
            f.destroySnapshot();
            String image = f.takeSnapshot();
            String gen = f.tracker.cbt().generation().toString();
            c.greet(Nbd.FLAG_C_FIXED_NEWSTYLE);
            c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
            c.optionReply();
            String since1 = "qemu:dirty-bitmap:cbt-" + gen + "-1";
            assertEquals(List.of("base:allocation", since1), contexts(c, image));
            assertEquals(List.of(since1), contexts(c, image, "qemu:dirty-bitmap:"));
            assertEquals(List.of(since1), contexts(c, image, "qemu:"));
            assertEquals(List.of("base:allocation"), contexts(c, image, "base:"));
            assertEquals(List.of("qemu:dirty-bitmap:cbt-" + gen + "-0"), contexts(c, image, "qemu:dirty-bitmap:cbt-" + gen + "-0"));
            assertEquals(List.of(), contexts(c, image, "qemu:dirty-bitmap:cbt-" + java.util.UUID.randomUUID() + "-0"));
            assertEquals(List.of(), contexts(c, image, "qemu:dirty-bitmap:cbt-" + gen + "-3", "nothing", "x-y:z"));
            assertEquals(List.of("base:allocation"), contexts(c, NbdFixture.DEVICE));
            assertEquals(List.of(), contexts(c, NbdFixture.DEVICE, "qemu:dirty-bitmap:"));
        }
    }

    private static List<String> contexts(RawClient c, String export, String... queries) throws Exception {
        c.option(Nbd.OPT_LIST_META_CONTEXT, RawClient.contextData(export, queries));
        List<RawClient.OptionReply> r = c.optionReplies();
        assertEquals(Nbd.REP_ACK, r.getLast().type());
        return r.subList(0, r.size() - 1).stream()
                .map(x -> new String(x.data(), 4, x.data().length - 4, java.nio.charset.StandardCharsets.UTF_8)).toList();
    }
}
