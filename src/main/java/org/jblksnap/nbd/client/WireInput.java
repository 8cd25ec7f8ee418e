package org.jblksnap.nbd.client;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * Big-endian reads from a channel through a small buffer, so that headers cost few system
 * calls while large payloads go straight into the caller's buffer.
 */
final class WireInput {
    private final ReadableByteChannel channel;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024).flip();

    WireInput(ReadableByteChannel channel) {
        this.channel = channel;
    }

    private void need(int n) throws IOException {
        if (buf.remaining() >= n) {
            return;
        }
        buf.compact();
        try {
            while (buf.position() < n) {
                if (channel.read(buf) < 0) {
                    throw new EOFException("the NBD server closed the connection");
                }
            }
        } finally {
            buf.flip();
        }
    }

    int readShort() throws IOException {
        need(2);
        return Short.toUnsignedInt(buf.getShort());
    }

    int readInt() throws IOException {
        need(4);
        return buf.getInt();
    }

    long readLong() throws IOException {
        need(8);
        return buf.getLong();
    }

    /** Fills dst: first from what is buffered, then straight from the channel. */
    void readFully(ByteBuffer dst) throws IOException {
        if (buf.hasRemaining()) {
            int n = Math.min(buf.remaining(), dst.remaining());
            ByteBuffer part = buf.slice(buf.position(), n);
            dst.put(part);
            buf.position(buf.position() + n);
        }
        while (dst.hasRemaining()) {
            if (channel.read(dst) < 0) {
                throw new EOFException("the NBD server closed the connection");
            }
        }
    }

    byte[] readBytes(int n) throws IOException {
        byte[] b = new byte[n];
        readFully(ByteBuffer.wrap(b));
        return b;
    }

    String readString(int n) throws IOException {
        return new String(readBytes(n), StandardCharsets.UTF_8);
    }

    void skip(long n) throws IOException {
        long left = n;
        while (left > 0) {
            int step = (int) Math.min(left, buf.capacity());
            need(step);
            buf.position(buf.position() + step);
            left -= step;
        }
    }
}
