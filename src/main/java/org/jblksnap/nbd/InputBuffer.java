package org.jblksnap.nbd;

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
    private final ByteBuffer buf = ByteBuffer.allocateDirect(SIZE).flip();

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

    /** Fills dst: first from what is buffered, then straight from the socket. */
    void readFully(ByteBuffer dst, String during) throws IOException {
        int n = Math.min(buf.remaining(), dst.remaining());
        if (n > 0) {
            int limit = buf.limit();
            buf.limit(buf.position() + n);
            dst.put(buf);
            buf.limit(limit);
        }
        while (dst.hasRemaining()) {
            if (dst.remaining() < SIZE / 4) {
                // A small rest: read ahead into the buffer, so the next requests come along.
                need(1, during);
                readFully(dst, during);
                return;
            }
            if (channel.read(dst) < 0) {
                throw Wire.eof(during);
            }
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
