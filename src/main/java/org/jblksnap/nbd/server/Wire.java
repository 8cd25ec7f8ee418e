package org.jblksnap.nbd.server;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Byte-level helpers for the protocol: whole writes and strict UTF-8 strings. */
final class Wire {
    private Wire() {
    }

    static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** Decodes a protocol string; malformed UTF-8 or a NUL makes it invalid (null). */
    static String decode(ByteBuffer bytes) {
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
            return s.indexOf('\0') >= 0 ? null : s;
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** Writes every remaining byte of the buffers. */
    static void writeFully(SocketChannel ch, ByteBuffer... bufs) throws IOException {
        writeFully(ch, bufs, 0, bufs.length);
    }

    static void writeFully(SocketChannel ch, ByteBuffer[] bufs, int from, int count) throws IOException {
        int end = from + count;
        while (from < end) {
            if (!bufs[from].hasRemaining()) {
                from++;
                continue;
            }
            ch.write(bufs, from, end - from);
        }
    }

    static EOFException eof(String during) {
        return new EOFException("client closed the connection " + during);
    }
}
