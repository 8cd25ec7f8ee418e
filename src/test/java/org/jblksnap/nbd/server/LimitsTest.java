package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jblksnap.device.BlockIo;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.testutil.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's limits: a handshake that never ends, too many options, a WRITE whose payload
 * never arrives, a client that never reads its replies, too many connections, memory running
 * out in a worker or in the accept loop, a BLOCK_STATUS of a very fragmented file. Each gets
 * a closed connection or an error reply, what it held goes back, the device does not change,
 * and a witness connection opened first keeps being served.
 */
class LimitsTest {
    private static final long SIZE = 16L << 20;
    private static final NbdLimits SHORT = NbdLimits.DEFAULTS.withHandshakeTimeout(Duration.ofSeconds(1))
            .withRequestTimeout(Duration.ofSeconds(1)).withPayloadMemory(64L << 20);

    @TempDir
    Path dir;
    private NbdFixture f;
    private RawClient witness;

    private void start(NbdLimits limits) throws Exception {
        f = new NbdFixture(dir, SIZE, limits);
        f.fillDevice(1);
        witness = new RawClient(f.socket);
        witness.open(NbdFixture.DEVICE, false);
    }

    @AfterEach
    void stop() throws Exception {
        if (witness != null) {
            witness.close();
        }
        if (f != null) {
            f.close();
        }
    }

    /** The witness still reads the base pattern, and the device holds it whole. */
    private void assertServedAndUnchanged() throws Exception {
        witness.request(0, Nbd.CMD_READ, 77, 0, 4096);
        assertEquals(0, witness.simpleReply(4096).error());
        NbdFixture.assertBasePattern(f.deviceFile, 1);
    }

    /** An export of zeroes that ignores writes. */
    private static BlockIo readsZeroes(long size) {
        return new BlockIo() {
            @Override
            public long capacity() {
                return size;
            }

            @Override
            public void read(long offset, ByteBuffer dst) {
                while (dst.hasRemaining()) {
                    dst.put((byte) 0);
                }
            }

            @Override
            public void write(long offset, ByteBuffer src) {
                src.position(src.limit());
            }

            @Override
            public void flush() {
            }
        };
    }

    @Test
    void aHandshakeThatNeverEndsIsClosedAtItsDeadline() throws Exception {
        start(SHORT);
        try (RawClient silent = new RawClient(f.socket); RawClient greetedOnly = new RawClient(f.socket)) {
            silent.read(18);
            greetedOnly.greet(Nbd.FLAG_C_FIXED_NEWSTYLE);
            long t0 = System.nanoTime();
            assertTrue(silent.closedByServer(), "a client that never sent its flags is closed");
            assertTrue(greetedOnly.closedByServer(), "a client that never sent an option is closed");
            assertTrue(System.nanoTime() - t0 < 8_000_000_000L);
        }
        assertServedAndUnchanged();
    }

    @Test
    void moreOptionsThanTheBoundCloseTheHandshake() throws Exception {
        start(NbdLimits.DEFAULTS);
        try (RawClient c = new RawClient(f.socket)) {
            c.greet(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
            ByteBuffer all = ByteBuffer.allocate(16 * (ServerHandshake.MAX_OPTIONS + 1));
            for (int i = 0; i <= ServerHandshake.MAX_OPTIONS; i++) {
                all.putLong(Nbd.IHAVEOPT).putInt(Nbd.OPT_STRUCTURED_REPLY).putInt(0);
            }
            c.write(all.flip());
            int acks = 0;
            try {
                while (true) {
                    assertEquals(Nbd.REP_ACK, c.optionReply().type());
                    acks++;
                }
            } catch (EOFException e) {
                // closed after the last option allowed
            } catch (SocketException e) {
                // the same close, seen as a reset when the server left the option over unread
                assertTrue(e.getMessage().contains("Connection reset"), e.toString());
            }
            assertEquals(ServerHandshake.MAX_OPTIONS, acks);
        }
        assertServedAndUnchanged();
    }

    @Test
    void aWriteWhosePayloadNeverArrivesIsClosedAndChangesNothing() throws Exception {
        start(SHORT);
        try (RawClient c = new RawClient(f.socket)) {
            c.open(NbdFixture.DEVICE, false);
            c.request(0, Nbd.CMD_WRITE, 1, 0, 1 << 20, ByteBuffer.allocate(1000));
            assertTrue(c.closedByServer(), "a stalled WRITE payload closes the connection");
        }
        try (RawClient c = new RawClient(f.socket)) {
            c.open(NbdFixture.DEVICE, false);
            c.write(ByteBuffer.allocate(10).putInt(Nbd.REQUEST_MAGIC).flip());
            assertTrue(c.closedByServer(), "a stalled request header closes the connection");
        }
        Await.until(Duration.ofSeconds(10), () -> f.server.pool().available() == f.server.pool().budget(),
                () -> "the pool's budget is whole again");
        assertServedAndUnchanged();
    }

    @Test
    void anIdleConnectionInTransmissionStays() throws Exception {
        start(SHORT);
        Thread.sleep(3000);
        assertServedAndUnchanged();
    }

    @Test
    void aClientThatNeverReadsItsRepliesIsClosedAndItsMemoryGoesBack() throws Exception {
        start(SHORT);
        RawClient c = new RawClient(f.socket);
        c.open(NbdFixture.DEVICE, false);
        ByteBuffer reads = ByteBuffer.allocate(28 * 64);
        for (int i = 0; i < 64; i++) {
            reads.putInt(Nbd.REQUEST_MAGIC).putShort((short) 0).putShort((short) Nbd.CMD_READ).putLong(i)
                    .putLong(0).putInt(1 << 20);
        }
        c.write(reads.flip());
        Await.until(Duration.ofSeconds(20), () -> f.server.connectionCount() == 1,
                () -> "the server closes the client that reads nothing");
        Await.until(Duration.ofSeconds(10), () -> f.server.pool().available() == f.server.pool().budget(),
                () -> "the pool's budget is whole again");
        c.close();
        assertServedAndUnchanged();
    }

    @Test
    void connectionsAboveTheCapAreClosedAtOnce() throws Exception {
        start(NbdLimits.DEFAULTS.withMaxConnections(3));
        List<RawClient> held = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                RawClient c = new RawClient(f.socket);
                held.add(c);
                c.greet(Nbd.FLAG_C_FIXED_NEWSTYLE);
            }
            try (RawClient over = new RawClient(f.socket)) {
                assertThrows(EOFException.class, () -> over.read(18), "a fourth connection is closed");
            }
            held.removeFirst().close();
            Await.until(Duration.ofSeconds(10), () -> f.server.connectionCount() == 2,
                    () -> "the count goes down");
            try (RawClient again = new RawClient(f.socket)) {
                again.open(NbdFixture.DEVICE, false);
            }
        } finally {
            for (RawClient c : held) {
                c.close();
            }
        }
        assertServedAndUnchanged();
    }

    @Test
    void outOfMemoryInAWorkerIsAnEnomemReplyAndGivesBackWhatTheRequestHeld() throws Exception {
        start(NbdLimits.DEFAULTS);
        AtomicBoolean failNext = new AtomicBoolean(true);
        BlockIo io = new BlockIo() {
            @Override
            public long capacity() {
                return 1 << 20;
            }

            @Override
            public void read(long offset, ByteBuffer dst) {
                if (failNext.getAndSet(false)) {
                    throw new OutOfMemoryError("Direct buffer memory (injected)");
                }
                dst.put(ByteBuffer.allocate(dst.remaining()));
            }

            @Override
            public void write(long offset, ByteBuffer src) {
                if (failNext.getAndSet(false)) {
                    throw new OutOfMemoryError("unable to create native thread (injected)");
                }
                src.position(src.limit());
            }

            @Override
            public void flush() {
            }
        };
        f.server.exports().add(new Export("oom", "", io, false));
        try (RawClient c = new RawClient(f.socket)) {
            c.open("oom", false);
            c.request(0, Nbd.CMD_READ, 1, 0, 65536);
            assertEquals(Nbd.ENOMEM, c.simpleReply(65536).error());
            failNext.set(true);
            c.request(0, Nbd.CMD_WRITE, 2, 0, 65536, ByteBuffer.allocate(65536));
            assertEquals(Nbd.ENOMEM, c.simpleReply(0).error());
            c.request(0, Nbd.CMD_READ, 3, 0, 65536);
            assertArrayEquals(new byte[65536], c.simpleReply(65536).data());
        }
        Await.until(Duration.ofSeconds(10), () -> f.server.pool().available() == f.server.pool().budget(),
                () -> "the pool's budget is whole again");
        assertServedAndUnchanged();
    }

    @Test
    void anErrorInTheAcceptLoopIsLoggedAndTheLoopGoesOn() throws Exception {
        start(NbdLimits.DEFAULTS);
        // The witness's workers are all started once it had a reply.
        assertServedAndUnchanged();
        AtomicBoolean failNext = new AtomicBoolean(true);
        var normal = f.server.threadSource;
        f.server.threadSource = () -> {
            // only the accept loop's next connection thread: a witness may still start a worker
            if (Thread.currentThread().getName().startsWith("nbd-accept") && failNext.getAndSet(false)) {
                throw new OutOfMemoryError("unable to create native thread: possibly out of memory (injected)");
            }
            return normal.get();
        };
        try (RawClient first = new RawClient(f.socket)) {
            assertThrows(EOFException.class, () -> first.read(18), "the connection that hit the Error is closed");
        }
        try (RawClient next = new RawClient(f.socket)) {
            next.open(NbdFixture.DEVICE, false);
            next.request(0, Nbd.CMD_READ, 1, 0, 4096);
            assertEquals(0, next.simpleReply(4096).error());
        }
        assertServedAndUnchanged();
    }

    @Test
    void theBufferPoolWaitsForItsBudgetThenFailsWithEnomemAndNeverLosesUnits() throws Exception {
        BufferPool pool = new BufferPool(Nbd.MAX_PAYLOAD, Nbd.MAX_PAYLOAD);
        ByteBuffer all = pool.acquire(Nbd.MAX_PAYLOAD, 1000);
        BlksnapException e = assertThrows(BlksnapException.class, () -> pool.acquire(4096, 200));
        assertEquals(Errno.ENOMEM, e.errno());
        pool.release(all);
        pool.release(pool.acquire(4096, 1000));
        assertEquals(pool.budget(), pool.available());

        AtomicBoolean failNext = new AtomicBoolean(true);
        BufferPool failing = new BufferPool(Nbd.MAX_PAYLOAD, Nbd.MAX_PAYLOAD, n -> {
            if (failNext.getAndSet(false)) {
                throw new OutOfMemoryError("Direct buffer memory (injected)");
            }
            return ByteBuffer.allocateDirect(n);
        });
        assertThrows(OutOfMemoryError.class, () -> failing.acquire(1 << 20, 1000));
        assertEquals(failing.budget(), failing.available());
        failing.release(failing.acquire(Nbd.MAX_PAYLOAD, 1000));
    }

    @Test
    void blockStatusOfAFragmentedExportIsBoundedInSize() throws Exception {
        start(NbdLimits.DEFAULTS);
        // Two contexts that alternate every 4 KiB over 1 GiB: 2^18 extents each.
        long size = 1L << 30;
        MetaContextProvider fragmented = new MetaContextProvider() {
            @Override
            public List<String> list(String query) {
                return List.of("base:allocation", "test:striped");
            }

            @Override
            public MetaContext select(String name) {
                return new MetaContext() {
                    @Override
                    public String name() {
                        return name;
                    }

                    @Override
                    public void extents(long offset, long length, Extents out) {
                        for (long at = offset; !out.full(); at += 4096) {
                            out.add(4096, (int) (at >> 12) & 1);
                        }
                    }
                };
            }
        };
        f.server.exports().add(new Export("striped", "", readsZeroes(size), true, fragmented));
        try (RawClient c = new RawClient(f.socket)) {
            c.open("striped", true, "base:allocation", "test:striped");
            c.request(0, Nbd.CMD_BLOCK_STATUS, 1, 0, size - 4096);
            List<RawClient.Reply> chunks = c.replies();
            assertEquals(2, chunks.size());
            int descriptors = 0;
            for (RawClient.Reply status : chunks) {
                assertEquals(Nbd.REPLY_TYPE_BLOCK_STATUS, status.type());
                descriptors += (status.data().length - 4) / 8;
            }
            assertEquals(Commands.MAX_REPLY_DESCRIPTORS, descriptors, "the reply stops at the bound");
        }
        assertServedAndUnchanged();
    }
}
