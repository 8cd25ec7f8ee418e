package org.jblksnap.nbd.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Byte-level helpers of both sides: whole writes and the protocol's strict UTF-8 strings. */
public final class Wire {
    private Wire() {
    }

    /** Writes every remaining byte of the buffers, with as few gathering writes as it takes. */
    public static void writeFully(GatheringByteChannel ch, ByteBuffer... bufs) throws IOException {
        writeFully(ch, bufs, 0, bufs.length);
    }

    /** Writes every remaining byte of bufs[from] to bufs[from + count - 1]. */
    public static void writeFully(GatheringByteChannel ch, ByteBuffer[] bufs, int from, int count) throws IOException {
        int end = from + count;
        while (from < end) {
            if (!bufs[from].hasRemaining()) {
                from++;
                continue;
            }
            ch.write(bufs, from, end - from);
        }
    }

    public static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** Decodes a protocol string; malformed UTF-8 or a NUL makes it invalid (null). */
    public static String decode(ByteBuffer bytes) {
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
            return s.indexOf('\0') >= 0 ? null : s;
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
