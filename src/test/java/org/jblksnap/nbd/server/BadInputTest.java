package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.testutil.SectorPattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed handshakes and requests from a raw client. Each gets the reply the spec asks for
 * or a closed connection; a witness connection opened first keeps being served; and the
 * device never changes.
 */
class BadInputTest {
    private static final long SIZE = 48L << 20;

    @TempDir
    Path dir;
    private NbdFixture f;
    private RawClient witness;
    private long witnessCookie;

    @BeforeEach
    void start() throws Exception {
        f = new NbdFixture(dir, SIZE);
        f.fillDevice(1);
        witness = new RawClient(f.socket);
        witness.open(NbdFixture.DEVICE, true);
    }

    @AfterEach
    void stop() throws Exception {
        witnessStillServed();
        witness.close();
        f.close();
        NbdFixture.assertBasePattern(f.deviceFile, 1);
    }

    /** The witness connection reads and checks a block. */
    private void witnessStillServed() throws Exception {
        long offset = 4096L * (++witnessCookie % 1000);
        witness.request(0, Nbd.CMD_READ, witnessCookie, offset, 4096);
        List<RawClient.Reply> r = witness.replies();
        assertEquals(1, r.size());
        assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, r.getFirst().type());
        ByteBuffer data = ByteBuffer.wrap(r.getFirst().data(), 8, 4096).slice();
        for (int i = 0; i < 8; i++) {
            SectorPattern.expect(data, i, offset / 512 + i, NbdFixture.BASE_WRITER, 1);
        }
    }

    private RawClient greeted() throws Exception {
        RawClient c = new RawClient(f.socket);
        int flags = c.greet(Nbd.FLAG_C_FIXED_NEWSTYLE);
        assertEquals(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES, flags);
        return c;
    }

    private void assertList(RawClient c) throws Exception {
        c.option(Nbd.OPT_LIST, new byte[0]);
        List<RawClient.OptionReply> r = c.optionReplies();
        assertEquals(Nbd.REP_ACK, r.getLast().type());
        assertTrue(r.size() >= 2, "LIST names the device: " + r);
    }

    @Test
    void wrongOptionMagicClosesTheConnection() throws Exception {
        try (RawClient c = greeted()) {
            c.write(ByteBuffer.allocate(16).putLong(0x1122334455667788L).putInt(Nbd.OPT_LIST).putInt(0).flip());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void unknownClientFlagsCloseTheConnection() throws Exception {
        try (RawClient c = new RawClient(f.socket)) {
            c.greet(Nbd.FLAG_C_FIXED_NEWSTYLE | (1 << 7));
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void unknownOptionsGetErrUnsupAndTheSessionGoesOn() throws Exception {
        try (RawClient c = greeted()) {
            c.option(1000, "whatever".getBytes(StandardCharsets.UTF_8));
            RawClient.OptionReply r = c.optionReply();
            assertEquals(1000, r.option());
            assertEquals(Nbd.REP_ERR_UNSUP, r.type());
            // A plain socket knows STARTTLS and refuses it by policy (the protocol's NOTLS mode).
            c.option(Nbd.OPT_STARTTLS, new byte[0]);
            assertEquals(Nbd.REP_ERR_POLICY, c.optionReply().type());
            c.option(Nbd.OPT_EXTENDED_HEADERS, new byte[0]);
            assertEquals(Nbd.REP_ERR_UNSUP, c.optionReply().type());
            // Longer than the server reads into memory: skipped, then refused.
            c.option(77, new byte[100_000]);
            assertEquals(Nbd.REP_ERR_UNSUP, c.optionReply().type());
            c.option(Nbd.OPT_LIST, new byte[100_000]);
            assertEquals(Nbd.REP_ERR_TOO_BIG, c.optionReply().type());
            assertList(c);
        }
    }

    @Test
    void malformedKnownOptionsGetErrInvalid() throws Exception {
        try (RawClient c = greeted()) {
            c.option(Nbd.OPT_LIST, new byte[] {1, 2, 3});
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[] {1});
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            // Name length past the data.
            c.option(Nbd.OPT_INFO, ByteBuffer.allocate(10).putInt(1000).array());
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            // Too short to hold the request count.
            c.option(Nbd.OPT_GO, new byte[] {0, 0});
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            // Request count that does not match the length.
            byte[] info = RawClient.infoData(NbdFixture.DEVICE, Nbd.INFO_NAME);
            info[4 + NbdFixture.DEVICE.length() + 1] = 5;
            c.option(Nbd.OPT_INFO, info);
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            // Not UTF-8.
            c.option(Nbd.OPT_INFO, ByteBuffer.allocate(8).putInt(2).put((byte) 0xc3).put((byte) 0x28).putShort((short) 0).array());
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            // Meta contexts before structured replies, and with a query past the data.
            c.option(Nbd.OPT_SET_META_CONTEXT, RawClient.contextData(NbdFixture.DEVICE, "base:allocation"));
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            byte[] bad = RawClient.contextData(NbdFixture.DEVICE, "base:allocation");
            bad[bad.length - "base:allocation".length() - 1] = 100;
            c.option(Nbd.OPT_LIST_META_CONTEXT, bad);
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            // An unknown export is refused, and the right one still opens.
            c.option(Nbd.OPT_GO, RawClient.infoData("nope"));
            assertEquals(Nbd.REP_ERR_UNKNOWN, c.optionReply().type());
            c.option(Nbd.OPT_GO, RawClient.infoData(NbdFixture.DEVICE));
            assertEquals(Nbd.REP_ACK, c.optionReplies().getLast().type());
            c.request(0, Nbd.CMD_READ, 1, 0, 512);
            assertEquals(0, c.simpleReply(512).error());
        }
    }

    @Test
    void hugeOptionLengthThenHangUp() throws Exception {
        try (RawClient c = greeted()) {
            c.option(Nbd.OPT_INFO, 0xffffffffL, new byte[5000]);
        }
        try (RawClient c = greeted()) {
            c.option(Nbd.OPT_EXPORT_NAME, 0xffffffffL, new byte[10]);
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void requestBeforeTheHandshakeEndsClosesTheConnection() throws Exception {
        try (RawClient c = greeted()) {
            c.request(0, Nbd.CMD_READ, 1, 0, 4096);
            assertTrue(c.closedByServer());
        }
        try (RawClient c = greeted()) {
            c.option(Nbd.OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void abortIsAcknowledged() throws Exception {
        try (RawClient c = greeted()) {
            c.option(Nbd.OPT_ABORT, new byte[0]);
            assertEquals(Nbd.REP_ACK, c.optionReply().type());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void badRequestsGetTheSpecErrors() throws Exception {
        try (RawClient c = new RawClient(f.socket)) {
            c.open(NbdFixture.DEVICE, true);
            c.request(0, 99, 1, 0, 4096);
            assertEquals(Nbd.EINVAL, c.error());
            c.request(1 << 7, Nbd.CMD_READ, 2, 0, 4096);
            assertEquals(Nbd.EINVAL, c.error());
            c.request(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_WRITE, 3, 0, 512, ByteBuffer.allocate(512));
            assertEquals(Nbd.EINVAL, c.error());
            c.request(0, Nbd.CMD_READ, 4, 0, 0);
            assertEquals(0, c.error());
            c.request(0, Nbd.CMD_READ, 5, 0, 0xffffffffL);
            assertEquals(Nbd.EINVAL, c.error(), "unaligned and past the end");
            c.request(0, Nbd.CMD_READ, 6, 0, 40L << 20);
            assertEquals(Nbd.EOVERFLOW, c.error(), "above the maximum payload");
            c.request(0, Nbd.CMD_READ, 7, SIZE - 512, 1024);
            assertEquals(Nbd.EINVAL, c.error());
            c.request(0, Nbd.CMD_READ, 8, -512L, 1024);
            assertEquals(Nbd.EINVAL, c.error());
            c.request(0, Nbd.CMD_WRITE, 9, SIZE - 512, 4096, ByteBuffer.allocate(4096));
            assertEquals(Nbd.ENOSPC, c.error());
            c.request(0, Nbd.CMD_WRITE, 10, 100, 512, ByteBuffer.allocate(512));
            assertEquals(Nbd.EINVAL, c.error(), "not whole sectors");
            c.request(0, Nbd.CMD_WRITE, 11, 0, 0);
            assertEquals(0, c.error());
            c.request(0, Nbd.CMD_WRITE_ZEROES, 12, SIZE, 512);
            assertEquals(Nbd.ENOSPC, c.error());
            c.request(Nbd.CMD_FLAG_FAST_ZERO, Nbd.CMD_WRITE_ZEROES, 13, 0, 1 << 20);
            assertEquals(Nbd.ENOTSUP, c.error());
            c.request(0, Nbd.CMD_TRIM, 14, SIZE - 512, 4096);
            assertEquals(Nbd.EINVAL, c.error());
            c.request(0, Nbd.CMD_CACHE, 15, SIZE, 4096);
            assertEquals(Nbd.EINVAL, c.error());
            c.request(0, Nbd.CMD_BLOCK_STATUS, 16, 0, 4096);
            assertEquals(Nbd.EINVAL, c.error(), "no meta context selected");
            c.request(0, Nbd.CMD_FLUSH, 17, 4096, 0);
            assertEquals(Nbd.EINVAL, c.error());
            c.request(0, Nbd.CMD_FLUSH, 18, 0, 0);
            assertEquals(0, c.error());
            // Still in step after all that.
            c.request(0, Nbd.CMD_READ, 19, 8192, 4096);
            List<RawClient.Reply> r = c.replies();
            assertEquals(19, r.getFirst().cookie());
            assertEquals(8 + 4096, r.getFirst().data().length);
        }
    }

    @Test
    void simpleRepliesStayInStepAfterErrors() throws Exception {
        try (RawClient c = new RawClient(f.socket)) {
            long[] info = c.open(NbdFixture.DEVICE, false);
            assertEquals(SIZE, info[0]);
            assertEquals(0, info[1] & Nbd.FLAG_SEND_DF, "DF only with structured replies");
            c.request(0, Nbd.CMD_READ, 1, SIZE - 512, 4096);
            assertEquals(Nbd.EINVAL, c.simpleReply(4096).error());
            c.request(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 2, 0, 4096);
            assertEquals(Nbd.EINVAL, c.simpleReply(4096).error());
            c.request(0, Nbd.CMD_READ, 3, 0, 40L << 20);
            assertEquals(Nbd.EINVAL, c.simpleReply(0).error());
            c.request(0, Nbd.CMD_READ, 4, 4096, 1024);
            RawClient.Reply r = c.simpleReply(1024);
            assertEquals(0, r.error());
            assertEquals(4, r.cookie());
            SectorPattern.expect(ByteBuffer.wrap(r.data()), 0, 8, NbdFixture.BASE_WRITER, 1);
            SectorPattern.expect(ByteBuffer.wrap(r.data()), 1, 9, NbdFixture.BASE_WRITER, 1);
        }
    }

    @Test
    void readOnlyExportRefusesWrites() throws Exception {
        f.server.exports().add(new Export("ro", "read-only view", f.tracker, true));
        try (RawClient c = new RawClient(f.socket)) {
            long[] info = c.open("ro", true);
            assertEquals(Nbd.FLAG_READ_ONLY, info[1] & Nbd.FLAG_READ_ONLY);
            c.request(0, Nbd.CMD_WRITE, 1, 0, 4096, ByteBuffer.allocate(4096));
            assertEquals(Nbd.EPERM, c.error());
            c.request(0, Nbd.CMD_WRITE_ZEROES, 2, 0, 4096);
            assertEquals(Nbd.EPERM, c.error());
            c.request(0, Nbd.CMD_TRIM, 3, 0, 4096);
            assertEquals(Nbd.EPERM, c.error());
            c.request(0, Nbd.CMD_WRITE, 4, SIZE, 512, ByteBuffer.allocate(512));
            assertEquals(Nbd.EPERM, c.error());
        }
    }

    @Test
    void oversizedWriteClosesTheConnection() throws Exception {
        try (RawClient c = new RawClient(f.socket)) {
            c.open(NbdFixture.DEVICE, true);
            c.request(0, Nbd.CMD_WRITE, 1, 0, 0xffffffffL);
            c.write(ByteBuffer.allocate(1 << 16));
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void connectionCutInTheMiddleOfAWritePayloadChangesNothing() throws Exception {
        try (RawClient c = new RawClient(f.socket)) {
            c.open(NbdFixture.DEVICE, true);
            c.request(0, Nbd.CMD_WRITE, 1, 0, 1 << 20, ByteBuffer.allocate(300_000));
        }
        try (RawClient c = new RawClient(f.socket)) {
            c.open(NbdFixture.DEVICE, false);
            c.request(0, Nbd.CMD_WRITE, 1, 1 << 20, 65536, ByteBuffer.allocate(1000));
        }
        // The server has seen the end of both streams before the device is checked.
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (f.server.connectionCount() > 1 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(1, f.server.connectionCount(), "only the witness is left");
    }

    @Test
    void wrongRequestMagicClosesTheConnection() throws Exception {
        try (RawClient c = new RawClient(f.socket)) {
            c.open(NbdFixture.DEVICE, true);
            c.write(ByteBuffer.allocate(28).putInt(0, 0x12345678));
            assertTrue(c.closedByServer());
        }
    }
}
