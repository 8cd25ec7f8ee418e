package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jblksnap.nbd.protocol.Nbd;

/**
 * A hand-made NBD client for tests that must send what real clients never do: each message
 * is built byte by byte, and replies are parsed without trusting them.
 */
final class RawClient implements AutoCloseable {
    final SocketChannel ch;

    /** An option reply. */
    record OptionReply(int option, int type, byte[] data) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    /** A transmission reply: simple (type -1) or one structured chunk. */
    record Reply(boolean simple, int flags, int type, long cookie, int error, byte[] data) {
        boolean done() {
            return simple || (flags & Nbd.REPLY_FLAG_DONE) != 0;
        }
    }

    RawClient(Path socket) throws IOException {
        ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
    }

    /** A TCP connection (to a server's TCP listener). */
    RawClient(InetSocketAddress address) throws IOException {
        ch = SocketChannel.open(address);
    }

    /** Reads the greeting and sends client flags; returns the handshake flags. */
    int greet(int clientFlags) throws IOException {
        ByteBuffer g = read(18);
        assertEquals(Nbd.NBDMAGIC, g.getLong());
        assertEquals(Nbd.IHAVEOPT, g.getLong());
        int flags = g.getShort() & 0xffff;
        write(ByteBuffer.allocate(4).putInt(clientFlags).flip());
        return flags;
    }

    void option(int option, byte[] data) throws IOException {
        option(option, data.length, data);
    }

    /** An option header claiming length bytes, followed by data (which may be shorter). */
    void option(int option, long length, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16 + data.length);
        b.putLong(Nbd.IHAVEOPT).putInt(option).putInt((int) length).put(data).flip();
        write(b);
    }

    OptionReply optionReply() throws IOException {
        ByteBuffer h = read(20);
        assertEquals(Nbd.OPTION_REPLY_MAGIC, h.getLong());
        int option = h.getInt();
        int type = h.getInt();
        int length = h.getInt();
        byte[] data = new byte[length];
        read(length).get(data);
        return new OptionReply(option, type, data);
    }

    /** Replies up to and including the final one (ACK or an error). */
    List<OptionReply> optionReplies() throws IOException {
        List<OptionReply> all = new ArrayList<>();
        while (true) {
            OptionReply r = optionReply();
            all.add(r);
            if (r.type() == Nbd.REP_ACK || (r.type() & Nbd.REP_FLAG_ERROR) != 0) {
                return all;
            }
        }
    }

    static byte[] infoData(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length);
        b.putInt(n.length).put(n).putShort((short) infos.length);
        for (int i : infos) {
            b.putShort((short) i);
        }
        return b.array();
    }

    static byte[] contextData(String name, String... queries) {
        int len = 4 + name.getBytes(StandardCharsets.UTF_8).length + 4;
        for (String q : queries) {
            len += 4 + q.getBytes(StandardCharsets.UTF_8).length;
        }
        ByteBuffer b = ByteBuffer.allocate(len);
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        b.putInt(n.length).put(n).putInt(queries.length);
        for (String q : queries) {
            byte[] qb = q.getBytes(StandardCharsets.UTF_8);
            b.putInt(qb.length).put(qb);
        }
        return b.array();
    }

    /** Fixed newstyle, optionally structured replies and meta contexts, then GO; returns (size, flags). */
    long[] open(String export, boolean structured, String... contexts) throws IOException {
        greet(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
        if (structured) {
            option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
            assertEquals(Nbd.REP_ACK, optionReply().type());
        }
        if (contexts.length > 0) {
            option(Nbd.OPT_SET_META_CONTEXT, contextData(export, contexts));
            List<OptionReply> r = optionReplies();
            assertEquals(Nbd.REP_ACK, r.getLast().type(), "SET_META_CONTEXT: " + r);
        }
        option(Nbd.OPT_GO, infoData(export));
        long size = -1;
        int flags = -1;
        for (OptionReply r : optionReplies()) {
            if (r.type() == Nbd.REP_INFO && ByteBuffer.wrap(r.data()).getShort() == Nbd.INFO_EXPORT) {
                ByteBuffer d = ByteBuffer.wrap(r.data(), 2, 10);
                size = d.getLong();
                flags = d.getShort() & 0xffff;
            } else if (r.type() != Nbd.REP_INFO && r.type() != Nbd.REP_ACK) {
                throw new IOException("GO refused: " + r.type() + " " + r.text());
            }
        }
        return new long[] {size, flags};
    }

    void request(int flags, int type, long cookie, long offset, long length) throws IOException {
        request(flags, type, cookie, offset, length, null);
    }

    void request(int flags, int type, long cookie, long offset, long length, ByteBuffer payload) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(28);
        h.putInt(Nbd.REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie).putLong(offset)
                .putInt((int) length).flip();
        if (payload == null) {
            write(h);
        } else {
            write(h);
            write(payload);
        }
    }

    /** A simple reply; dataLength bytes follow it when it is a successful read. */
    Reply simpleReply(int dataLength) throws IOException {
        ByteBuffer h = read(16);
        assertEquals(Nbd.SIMPLE_REPLY_MAGIC, h.getInt());
        int error = h.getInt();
        long cookie = h.getLong();
        byte[] data = new byte[error == 0 ? dataLength : 0];
        read(data.length).get(data);
        return new Reply(true, 0, -1, cookie, error, data);
    }

    /** One structured chunk or simple reply (a simple one never carries data here). */
    Reply reply() throws IOException {
        ByteBuffer m = read(4);
        int magic = m.getInt();
        if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
            ByteBuffer h = read(12);
            int error = h.getInt();
            return new Reply(true, 0, -1, h.getLong(), error, new byte[0]);
        }
        assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, magic);
        ByteBuffer h = read(16);
        int flags = h.getShort() & 0xffff;
        int type = h.getShort() & 0xffff;
        long cookie = h.getLong();
        int length = h.getInt();
        byte[] data = new byte[length];
        read(length).get(data);
        int error = (type & 0x8000) != 0 ? ByteBuffer.wrap(data).getInt() : 0;
        return new Reply(false, flags, type, cookie, error, data);
    }

    /** Every chunk of one reply, up to the one with DONE. */
    List<Reply> replies() throws IOException {
        List<Reply> all = new ArrayList<>();
        Reply r;
        do {
            r = reply();
            all.add(r);
        } while (!r.done());
        return all;
    }

    /** The error of the next reply (0 for success); for simple replies without data. */
    int error() throws IOException {
        int error = 0;
        for (Reply r : replies()) {
            if (r.error() != 0) {
                error = r.error();
            }
        }
        return error;
    }

    void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new EOFException("server closed the connection");
            }
        }
        return b.flip();
    }

    /** True when the server closes the connection within 10 s without sending anything more. */
    boolean closedByServer() throws IOException, InterruptedException {
        ch.configureBlocking(false);
        ByteBuffer b = ByteBuffer.allocate(1);
        long deadline = System.nanoTime() + 10_000_000_000L;
        try {
            while (System.nanoTime() < deadline) {
                int n = ch.read(b);
                if (n < 0) {
                    return true;
                }
                if (n > 0) {
                    return false;
                }
                Thread.sleep(10);
            }
            return false;
        } catch (IOException e) {
            return true;
        } finally {
            ch.configureBlocking(true);
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
