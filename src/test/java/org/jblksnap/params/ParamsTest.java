package org.jblksnap.params;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

class ParamsTest {
    @Test
    void defaultsAreBlksnapDefaults() {
        Map<String, Long> m = Params.defaults().asMap();
        assertEquals(16L, m.get("tracking_block_minimum_shift"));
        assertEquals(2097152L, m.get("tracking_block_maximum_count"));
        assertEquals(26L, m.get("tracking_block_maximum_shift"));
        assertEquals(18L, m.get("chunk_minimum_shift"));
        assertEquals(40L, m.get("chunk_maximum_count_shift"));
        assertEquals(26L, m.get("chunk_maximum_shift"));
        assertEquals(256L, m.get("chunk_maximum_in_queue"));
        assertEquals(2097152L, m.get("diff_storage_minimum"));
        assertTrue(Params.defaults().corrected().warnings().isEmpty());
    }

    @Test
    void blockSizeGrowsOnlyWhileCountIsAboveMaximum() {
        Params p = Params.defaults();
        assertEquals(16, p.trackingBlockShift(1L << 30));
        // 2^21 blocks of 64 KiB = 128 GiB is exactly the maximum count: still 64 KiB.
        assertEquals(16, p.trackingBlockShift(128L << 30));
        assertEquals(17, p.trackingBlockShift((128L << 30) + 512));
        // Capped at the maximum shift however large the device.
        assertEquals(26, p.trackingBlockShift(1L << 60));
        assertEquals(18, p.chunkShift(1L << 40));
        assertEquals(3, Params.blockCount(5 << 16, 17));
    }

    @Test
    void correctionsFollowTheModule() {
        Params p = Params.defaults().with(Map.of("chunk_minimum_shift", "9", "chunk_maximum_shift", "5",
                "tracking_block_maximum_shift", "10", "diff_storage_minimum", "13"));
        Params.Corrected c = p.corrected();
        assertEquals(12, c.params().chunkMinimumShift());
        assertEquals(12, c.params().chunkMaximumShift());
        assertEquals(16, c.params().trackingBlockMaximumShift());
        // twice the minimum chunk (2 * 8 sectors), already a multiple of a chunk
        assertEquals(16, c.params().diffStorageMinimum());
        assertTrue(c.warnings().contains("fixed chunk_minimum_shift: 12"), c.warnings().toString());
        Params q = Params.defaults().with(Map.of("chunk_minimum_shift", "12", "diff_storage_minimum", "1001"));
        assertEquals(1000, q.corrected().params().diffStorageMinimum());
    }

    @Test
    void badValuesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Params.defaults().with(Map.of("no_such", "1")));
        assertThrows(IllegalArgumentException.class, () -> Params.defaults().with(Map.of("chunk_minimum_shift", "x")));
        assertThrows(IllegalArgumentException.class, () -> Params.defaults().with(Map.of("chunk_minimum_shift", "-1")));
    }
}
