package org.jblksnap.nbd.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * What a connection reads from its client, through one direct buffer: a single read system
 * call usually brings several pipelined requests. Big payloads skip the buffer and go
 * straight into their own.
 */
final class InputBuffer {
    private static final int SIZE = 256 << 10;

    private final SocketChannel channel;
    /** How much of what follows a payload is read along with it. */
    private static final int READ_AHEAD = 8 << 10;

    private final ByteBuffer buf = ByteBuffer.allocateDirect(SIZE).flip();
    private final ByteBuffer[] scatter = {null, buf};

    InputBuffer(SocketChannel channel) {
        this.channel = channel;
    }

    /** Makes n bytes (at most the buffer size) available; EOF before that is an error. */
    void need(int n, String during) throws IOException {
        if (buf.remaining() >= n) {
            return;
        }
        buf.compact();
        try {
            while (buf.position() < n) {
                if (channel.read(buf) < 0) {
                    throw Wire.eof(during);
                }
            }
        } finally {
            buf.flip();
        }
    }

    int getShort() {
        return buf.getShort() & 0xffff;
    }

    int getInt() {
        return buf.getInt();
    }

    long getLong() {
        return buf.getLong();
    }

    /**
     * Fills dst: first from what is buffered, then straight from the socket with a scattering
     * read whose second buffer takes a little of what follows (the next request headers), so
     * a big payload is never copied and small requests behind it still come in one call.
     */
    void readFully(ByteBuffer dst, String during) throws IOException {
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
                    throw Wire.eof(during);
                }
            }
        } finally {
            scatter[0] = null;
            buf.flip();
        }
    }

    /** Reads and drops n bytes. */
    void skip(long n, String during) throws IOException {
        while (n > 0) {
            need(1, during);
            int k = (int) Math.min(n, buf.remaining());
            buf.position(buf.position() + k);
            n -= k;
        }
    }
}
