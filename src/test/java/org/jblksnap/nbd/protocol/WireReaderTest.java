package org.jblksnap.nbd.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;

import org.junit.jupiter.api.Test;

class WireReaderTest {
    @Test
    void numbersPayloadsAndSkipsKeepTheirOrderAcrossTheBuffer() throws Exception {
        Pipe pipe = Pipe.open();
        byte[] payload = new byte[1 << 20];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) (i * 31);
        }
        ByteBuffer all = ByteBuffer.allocate(14 + payload.length + 100 + 4);
        all.putShort((short) 0xfffe).putInt(-3).putLong(1L << 40).put(payload).put(new byte[100]).putInt(42).flip();
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                Wire.writeFully(pipe.sink(), all);
                pipe.sink().close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        WireReader in = new WireReader(pipe.source(), "the peer");
        assertEquals(0xfffe, in.readShort());
        in.need(12, null);
        assertEquals(-3, in.getInt());
        assertEquals(1L << 40, in.getLong());
        ByteBuffer got = ByteBuffer.allocate(payload.length);
        in.readFully(got, "in a payload");
        assertArrayEquals(payload, got.array());
        in.skip(100);
        assertEquals(42, in.readInt());
        EOFException e = assertThrows(EOFException.class, () -> in.need(1, "between messages"));
        assertEquals("the peer closed the connection between messages", e.getMessage());
        writer.join();
    }
}
