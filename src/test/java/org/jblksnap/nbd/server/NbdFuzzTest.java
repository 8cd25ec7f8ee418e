package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.testutil.CloseOnTimeout;
import org.jblksnap.testutil.Trees;
import org.jblksnap.testutil.Warnings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing of the NBD server, over a real socket to a real server with one
 * tracked 1 MiB device file and a snapshot of it (two exports: the device and its image).
 * <ul>
 * <li>{@link #handshake}: the input is the whole byte stream a client sends, from its flags
 *     on (option haggling, and whatever follows when an option ends the handshake).
 * <li>{@link #transmission}: a valid handshake (structured replies and base:allocation or
 *     not, device or image) made by the harness, then requests built from the input, some
 *     of them out of range or malformed, and raw bytes at the end.
 * </ul>
 * What must hold for every input: the server answers or closes, and closes once the client's
 * stream has ended (the input fails otherwise); nothing is logged as a warning
 * (the server logs what it did not expect and goes on); in transmission, every reply has a
 * reply magic and the cookie of a request that has no final reply yet.
 *
 * <p>{@code mvn test} runs the seeds in {@code src/test/resources/org/jblksnap/nbd/server/NbdFuzzTestInputs};
 * {@code scripts/fuzz handshake|transmission SECONDS} fuzzes.
 */
class NbdFuzzTest {
    private static final long TIMEOUT_MS = 30_000;
    private static final long SIZE = 1 << 20;
    private static Path dir;
    private static NbdFixture fixture;
    private static String image;
    private static Warnings warnings;
    private static Level level;

    @BeforeAll
    static void serve() throws IOException {
        dir = Files.createTempDirectory("nbd-fuzz");
        fixture = new NbdFixture(dir, SIZE);
        fixture.fillDevice(1);
        image = fixture.takeSnapshot();
        warnings = new Warnings("org.jblksnap");
        level = Logger.getLogger("org.jblksnap").getLevel();
        Logger.getLogger("org.jblksnap").setLevel(Level.WARNING); // a closed connection is INFO: thousands of them
    }

    @AfterAll
    static void stop() throws IOException {
        Logger.getLogger("org.jblksnap").setLevel(level);
        warnings.close();
        fixture.close();
        Trees.delete(dir);
    }

    @FuzzTest(maxDuration = "20s")
    void handshake(byte[] input) throws Exception {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(fixture.socket))) {
            guarded(ch, () -> {
                Thread writer = writeAll(ch, input);
                ByteBuffer buf = ByteBuffer.allocate(64 << 10);
                while (ch.read(buf.clear()) >= 0) {
                    // replies are not checked here: the handshake's own tests do that
                }
                writer.join();
                return null;
            });
        }
        warnings.assertNone("the NBD server");
    }

    @FuzzTest(maxDuration = "20s")
    void transmission(FuzzedDataProvider data) throws Exception {
        boolean structured = data.consumeBoolean();
        boolean allocation = data.consumeBoolean();
        String export = data.consumeBoolean() ? NbdFixture.DEVICE : image;
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(fixture.socket))) {
            guarded(ch, () -> {
                handshake(ch, export, structured, allocation);
                ByteBuffer requests = ByteBuffer.allocate(8 << 20);
                Map<Long, Integer> open = new ConcurrentHashMap<>();
                for (long cookie = 1; cookie <= 32 && data.remainingBytes() > 4; cookie++) {
                    request(requests, data, cookie, open);
                }
                if (data.consumeBoolean()) {
                    requests.put(data.consumeBytes(64));
                } else if (data.consumeBoolean()) {
                    requests.putInt(Nbd.REQUEST_MAGIC).putShort((short) 0).putShort((short) Nbd.CMD_DISC).putLong(0)
                            .putLong(0).putInt(0);
                }
                Thread writer = writeAll(ch, java.util.Arrays.copyOf(requests.array(), requests.position()));
                readReplies(ch, structured, open);
                writer.join();
                return null;
            });
        }
        warnings.assertNone("the NBD server");
    }

    /** One request from the input: mostly well-formed and in range, sometimes neither. */
    private static void request(ByteBuffer out, FuzzedDataProvider data, long cookie, Map<Long, Integer> open) {
        int type = data.consumeInt(0, 9);
        if (type == Nbd.CMD_DISC) {
            type = Nbd.CMD_READ;
        }
        int flags = data.consumeBoolean() ? data.consumeInt(0, 0x1f) : data.consumeShort() & 0xffff;
        long offset;
        int length;
        if (data.consumeBoolean()) {
            offset = data.consumeLong(0, SIZE / 512) * 512;
            length = data.consumeInt(0, 256) * 512;
        } else {
            offset = data.consumeLong();
            length = data.consumeInt();
        }
        boolean magic = data.consumeProbabilityDouble() > 0.02;
        out.putInt(magic ? Nbd.REQUEST_MAGIC : data.consumeInt()).putShort((short) flags).putShort((short) type)
                .putLong(cookie).putLong(offset).putInt(length);
        open.put(cookie, type == Nbd.CMD_READ ? length : 0);
        long unsigned = Integer.toUnsignedLong(length);
        if (type == Nbd.CMD_WRITE && unsigned <= (256 << 10) && out.remaining() >= unsigned) {
            for (int i = 0; i < unsigned; i++) {
                out.put((byte) (i * 31 + cookie));
            }
        }
    }

    /** Greeting, flags, the chosen options, then GO; fails unless the server agrees. */
    private static void handshake(SocketChannel ch, String export, boolean structured, boolean allocation) throws IOException {
        ByteBuffer greeting = read(ch, 18);
        assertEquals(Nbd.NBDMAGIC, greeting.getLong());
        assertEquals(Nbd.IHAVEOPT, greeting.getLong());
        write(ch, ByteBuffer.allocate(4).putInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES).flip());
        if (structured) {
            option(ch, Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
        }
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        if (structured && allocation) {
            byte[] query = "base:allocation".getBytes(StandardCharsets.UTF_8);
            option(ch, Nbd.OPT_SET_META_CONTEXT, ByteBuffer.allocate(4 + name.length + 4 + 4 + query.length)
                    .putInt(name.length).put(name).putInt(1).putInt(query.length).put(query).array());
        }
        option(ch, Nbd.OPT_GO, ByteBuffer.allocate(4 + name.length + 2).putInt(name.length).put(name).putShort((short) 0).array());
    }

    /** Sends an option and reads its replies up to the final one, which must be ACK. */
    private static void option(SocketChannel ch, int option, byte[] payload) throws IOException {
        write(ch, ByteBuffer.allocate(16 + payload.length).putLong(Nbd.IHAVEOPT).putInt(option).putInt(payload.length)
                .put(payload).flip());
        while (true) {
            ByteBuffer h = read(ch, 20);
            assertEquals(Nbd.OPTION_REPLY_MAGIC, h.getLong());
            assertEquals(option, h.getInt());
            int type = h.getInt();
            read(ch, h.getInt());
            if (type == Nbd.REP_ACK) {
                return;
            }
            assertTrue(type == Nbd.REP_INFO || type == Nbd.REP_META_CONTEXT, "option " + option + " refused: 0x"
                    + Integer.toHexString(type));
        }
    }

    /**
     * Reads replies to the end of the stream: each is simple or structured (as negotiated),
     * and names an open cookie; a final one closes it.
     */
    private static void readReplies(SocketChannel ch, boolean structured, Map<Long, Integer> open) throws IOException {
        while (true) {
            ByteBuffer magic = ByteBuffer.allocate(4);
            if (!readOrEnd(ch, magic)) {
                return;
            }
            int m = magic.flip().getInt();
            if (m == Nbd.SIMPLE_REPLY_MAGIC) {
                ByteBuffer h = read(ch, 12);
                int error = h.getInt();
                long cookie = h.getLong();
                Integer length = open.remove(cookie);
                assertTrue(length != null, "a simple reply to cookie " + cookie + ", which has no open request");
                if (error == 0 && length > 0) {
                    assertTrue(!structured, "a simple reply with data after structured replies were agreed");
                    skip(ch, Integer.toUnsignedLong(length));
                }
            } else {
                assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, m, "reply magic");
                assertTrue(structured, "a structured reply that was not agreed");
                ByteBuffer h = read(ch, 16);
                int flags = h.getShort() & 0xffff;
                h.getShort();
                long cookie = h.getLong();
                long length = Integer.toUnsignedLong(h.getInt());
                assertTrue(open.containsKey(cookie), "a structured reply to cookie " + cookie + ", which has no open request");
                skip(ch, length);
                if ((flags & Nbd.REPLY_FLAG_DONE) != 0) {
                    open.remove(cookie);
                }
            }
        }
    }

    /** Runs io; when it takes longer than the timeout, the channel is closed and the input fails. */
    private static void guarded(SocketChannel ch, CloseOnTimeout.Io<Void> io) throws Exception {
        try {
            CloseOnTimeout.run(ch, TIMEOUT_MS, "the NBD server", io);
        } catch (EOFException e) {
            // the server closed in the middle of a reply: allowed after a broken rule
        } catch (SocketException e) {
            if (!"Connection reset".equals(e.getMessage())) {
                throw e;
            }
            // the server closed with requests of ours unread (the kernel then resets the
            // connection): allowed after a broken rule
        }
    }

    /** Writes the bytes and ends the stream, in a thread of its own (replies are read meanwhile). */
    private static Thread writeAll(SocketChannel ch, byte[] bytes) {
        return Thread.ofVirtual().start(() -> {
            try {
                write(ch, ByteBuffer.wrap(bytes));
                ch.shutdownOutput();
            } catch (IOException e) {
                // the server closed first: the reader sees the end
            }
        });
    }

    private static void write(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static ByteBuffer read(SocketChannel ch, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        if (!readOrEnd(ch, b) && n > 0) {
            throw new EOFException("end of stream");
        }
        return b.flip();
    }

    /** Fills b; false at an end of stream before its first byte, EOFException in its middle. */
    private static boolean readOrEnd(SocketChannel ch, ByteBuffer b) throws IOException {
        boolean first = true;
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                if (first && b.position() == 0) {
                    return false;
                }
                throw new EOFException("end of stream in the middle of a reply");
            }
            first = false;
        }
        return true;
    }

    private static void skip(SocketChannel ch, long n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64 << 10);
        while (n > 0) {
            b.clear().limit((int) Math.min(b.capacity(), n));
            if (ch.read(b) < 0) {
                throw new EOFException("end of stream in the middle of a reply's data");
            }
            n -= b.position();
        }
    }
}
