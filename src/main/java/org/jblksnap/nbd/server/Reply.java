package org.jblksnap.nbd.server;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.jblksnap.nbd.protocol.Nbd;

/**
 * One reply of the transmission phase, ready to send: segments of small header bytes, each
 * optionally followed by a data buffer sent as it is (never copied). The {@link ReplyWriter}
 * copies the header bytes into its own direct buffer and sends everything with gathering
 * writes, then runs {@link #sent()}: whoever lent the reply a buffer (or counted it against
 * a budget) registered {@link #whenSent} to take it back, so each acquirer releases its own.
 */
final class Reply {
    private byte[] head = new byte[32];
    private int headLength;
    private int[] segmentEnd = new int[2];
    private ByteBuffer[] data = new ByteBuffer[2];
    private int segments;
    private Runnable[] whenSent = new Runnable[2];
    private int callbacks;

    static Reply simple(long cookie, int error) {
        Reply r = new Reply();
        r.simpleHeader(cookie, error);
        r.endSegment(null);
        return r;
    }

    /** A simple reply carrying read data. */
    static Reply simpleData(long cookie, ByteBuffer data) {
        Reply r = new Reply();
        r.simpleHeader(cookie, 0);
        r.endSegment(data);
        return r;
    }

    /** The final NBD_REPLY_TYPE_NONE chunk: success without payload. */
    static Reply done(long cookie) {
        Reply r = new Reply();
        r.chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, cookie, 0);
        r.endSegment(null);
        return r;
    }

    /** A final error chunk with a message for humans (cut to what the protocol allows). */
    static Reply structuredError(long cookie, int error, String message) {
        byte[] msg = message == null ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(msg.length, Nbd.MAX_STRING);
        Reply r = new Reply();
        r.chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, cookie, 6 + len);
        r.putInt(error);
        r.putShort(len);
        r.putBytes(msg, 0, len);
        r.endSegment(null);
        return r;
    }

    private void simpleHeader(long cookie, int error) {
        putInt(Nbd.SIMPLE_REPLY_MAGIC);
        putInt(error);
        putLong(cookie);
    }

    /** Starts a structured chunk; its payload bytes follow with put* and endSegment. */
    void chunkHeader(int flags, int type, long cookie, int payloadLength) {
        putInt(Nbd.STRUCTURED_REPLY_MAGIC);
        putShort(flags);
        putShort(type);
        putLong(cookie);
        putInt(payloadLength);
    }

    void putShort(int v) {
        ensure(2);
        head[headLength++] = (byte) (v >>> 8);
        head[headLength++] = (byte) v;
    }

    void putInt(int v) {
        ensure(4);
        for (int s = 24; s >= 0; s -= 8) {
            head[headLength++] = (byte) (v >>> s);
        }
    }

    void putLong(long v) {
        ensure(8);
        for (int s = 56; s >= 0; s -= 8) {
            head[headLength++] = (byte) (v >>> s);
        }
    }

    void putBytes(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, head, headLength, len);
        headLength += len;
    }

    /** Closes the current segment: its header bytes, then data (may be null). */
    void endSegment(ByteBuffer segmentData) {
        if (segments == segmentEnd.length) {
            segmentEnd = Arrays.copyOf(segmentEnd, segments * 2);
            data = Arrays.copyOf(data, segments * 2);
        }
        segmentEnd[segments] = headLength;
        data[segments] = segmentData;
        segments++;
    }

    /** Adds something to run once the reply went out or could not be sent (in the order added). */
    void whenSent(Runnable r) {
        if (callbacks == whenSent.length) {
            whenSent = Arrays.copyOf(whenSent, callbacks * 2);
        }
        whenSent[callbacks++] = r;
    }

    /** Called once, after the reply went out or could not be sent. */
    void sent() {
        for (int i = 0; i < callbacks; i++) {
            whenSent[i].run();
        }
    }

    int segments() {
        return segments;
    }

    byte[] head() {
        return head;
    }

    int headStart(int segment) {
        return segment == 0 ? 0 : segmentEnd[segment - 1];
    }

    int headEnd(int segment) {
        return segmentEnd[segment];
    }

    ByteBuffer data(int segment) {
        return data[segment];
    }

    private void ensure(int n) {
        if (headLength + n > head.length) {
            head = Arrays.copyOf(head, Math.max(head.length * 2, headLength + n));
        }
    }
}
