package org.jblksnap.nbd.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ScatteringByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * What one side reads from its peer, big-endian, through one direct buffer: a single read
 * system call usually brings several messages (pipelined requests, or reply headers), while
 * big payloads skip the buffer and go straight into the caller's own.
 *
 * <p>Two ways to read numbers: {@link #need} then the {@code get} methods (one check for a
 * whole header, as the server's request loop does), or the {@code read} methods, which check
 * for each number. One thread reads at a time: the server's workers take turns under their
 * connection's read lock, the client has one reader thread.
 */
public final class WireReader {
    /** Holds thousands of request headers, or any option reply header. */
    private static final int SIZE = 256 << 10;
    /** How much of what follows a payload is read along with it. */
    private static final int READ_AHEAD = 8 << 10;

    private final ScatteringByteChannel channel;
    private final String peer;
    private final ByteBuffer buf;
    private final ByteBuffer[] scatter;

    /** @param peer who is at the other end, for the end-of-stream message ("client", "the NBD server") */
    public WireReader(ScatteringByteChannel channel, String peer) {
        this(channel, peer, SIZE);
    }

    /**
     * With a buffer of size bytes (at least 16 KiB): the server's is small, as it has one per
     * connection and thousands of connections may be idle.
     */
    public WireReader(ScatteringByteChannel channel, String peer, int size) {
        if (size < 2 * READ_AHEAD) {
            throw new IllegalArgumentException("a WireReader buffer of " + size + " bytes is below " + 2 * READ_AHEAD);
        }
        this.channel = channel;
        this.peer = peer;
        this.buf = ByteBuffer.allocateDirect(size).flip();
        this.scatter = new ByteBuffer[] {null, buf};
    }

    /**
     * Makes n bytes (at most the buffer's size) available to the get methods; an end of stream before
     * that is an {@link EOFException} saying during what.
     */
    public void need(int n, String during) throws IOException {
        if (buf.remaining() >= n) {
            return;
        }
        buf.compact();
        try {
            while (buf.position() < n) {
                if (channel.read(buf) < 0) {
                    throw eof(during);
                }
            }
        } finally {
            buf.flip();
        }
    }

    /** Bytes read from the channel and not yet taken (none may be when a connection starts TLS). */
    public int buffered() {
        return buf.remaining();
    }

    /** The next 16 bits, unsigned; {@link #need} must have made them available. */
    public int getShort() {
        return buf.getShort() & 0xffff;
    }

    public int getInt() {
        return buf.getInt();
    }

    public long getLong() {
        return buf.getLong();
    }

    /** The next 16 bits, unsigned, reading as needed. */
    public int readShort() throws IOException {
        need(2, null);
        return getShort();
    }

    public int readInt() throws IOException {
        need(4, null);
        return getInt();
    }

    public long readLong() throws IOException {
        need(8, null);
        return getLong();
    }

    public void readFully(ByteBuffer dst) throws IOException {
        readFully(dst, null);
    }

    /**
     * Fills dst: first from what is buffered, then straight from the channel with a scattering
     * read whose second buffer takes a little of what follows (the next headers), so a big
     * payload is never copied and small messages behind it still come in the same call.
     */
    public void readFully(ByteBuffer dst, String during) throws IOException {
        int n = Math.min(buf.remaining(), dst.remaining());
        if (n > 0) {
            int limit = buf.limit();
            buf.limit(buf.position() + n);
            dst.put(buf);
            buf.limit(limit);
        }
        if (!dst.hasRemaining()) {
            return;
        }
        // dst wants more than was buffered, so the buffer is empty now.
        buf.clear().limit(READ_AHEAD);
        scatter[0] = dst;
        try {
            while (dst.hasRemaining()) {
                if (channel.read(scatter) < 0) {
                    throw eof(during);
                }
            }
        } finally {
            scatter[0] = null;
            buf.flip();
        }
    }

    public byte[] readBytes(int n) throws IOException {
        byte[] b = new byte[n];
        readFully(ByteBuffer.wrap(b));
        return b;
    }

    /** n bytes of UTF-8, leniently decoded (for messages and names a peer sends). */
    public String readString(int n) throws IOException {
        return new String(readBytes(n), StandardCharsets.UTF_8);
    }

    public void skip(long n) throws IOException {
        skip(n, null);
    }

    /** Reads and drops n bytes. */
    public void skip(long n, String during) throws IOException {
        while (n > 0) {
            need(1, during);
            int k = (int) Math.min(n, buf.remaining());
            buf.position(buf.position() + k);
            n -= k;
        }
    }

    private EOFException eof(String during) {
        return new EOFException(peer + " closed the connection" + (during == null ? "" : " " + during));
    }
}
