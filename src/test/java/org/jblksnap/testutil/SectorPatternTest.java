package org.jblksnap.testutil;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

class SectorPatternTest {
    @Test
    void roundTripAndDetection() {
        ByteBuffer b = SectorPattern.sectors(100, 4, 7, 42);
        for (int i = 0; i < 4; i++) {
            assertEquals(new SectorPattern.Stamp(100 + i, 7, 42), SectorPattern.decode(b, i, 100 + i));
        }
        assertThrows(AssertionError.class, () -> SectorPattern.decode(b, 1, 100)); // misplaced
        b.put(2 * 512 + 300, (byte) (b.get(2 * 512 + 300) ^ 1));
        assertThrows(AssertionError.class, () -> SectorPattern.decode(b, 2, 102)); // torn
        assertThrows(AssertionError.class, () -> SectorPattern.decode(ByteBuffer.allocate(512), 0, 0)); // zeroes
        assertThrows(AssertionError.class, () -> SectorPattern.expect(b, 3, 103, 7, 41)); // stale
    }
}
