package org.jblksnap.params;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The blksnap module parameters, with the upstream names and defaults (blksnap 2.0, main.c).
 *
 * <p>{@link #corrected()} applies the same fix-ups the module applies at load time and reports
 * each one, so a daemon can log them exactly as the kernel module warns.
 */
public record Params(
        int trackingBlockMinimumShift,
        int trackingBlockMaximumCount,
        int trackingBlockMaximumShift,
        int chunkMinimumShift,
        int chunkMaximumCountShift,
        int chunkMaximumShift,
        int chunkMaximumInQueue,
        int freeDiffBufferPoolSize,
        long diffStorageMinimum) {

    public static final int SECTOR_SHIFT = 9;
    public static final int SECTOR_SIZE = 1 << SECTOR_SHIFT;
    /** The kernel's PAGE_SHIFT: a chunk is never smaller than a page. */
    public static final int PAGE_SHIFT = 12;

    public static final List<String> NAMES = List.of(
            "tracking_block_minimum_shift", "tracking_block_maximum_count", "tracking_block_maximum_shift",
            "chunk_minimum_shift", "chunk_maximum_count_shift", "chunk_maximum_shift",
            "chunk_maximum_in_queue", "free_diff_buffer_pool_size", "diff_storage_minimum");

    public static Params defaults() {
        return new Params(16, 2097152, 26, 18, 40, 26, 256, 128, 2097152);
    }

    /** Values as a name → value map, in the upstream order. */
    public Map<String, Long> asMap() {
        Map<String, Long> m = new LinkedHashMap<>();
        long[] v = {trackingBlockMinimumShift, trackingBlockMaximumCount, trackingBlockMaximumShift,
                chunkMinimumShift, chunkMaximumCountShift, chunkMaximumShift, chunkMaximumInQueue,
                freeDiffBufferPoolSize, diffStorageMinimum};
        for (int i = 0; i < v.length; i++) {
            m.put(NAMES.get(i), v[i]);
        }
        return m;
    }

    /**
     * This set with the named values replaced. Unknown names and values that are not
     * non-negative integers in range are refused; nothing is replaced then.
     */
    public Params with(Map<String, String> overrides) {
        Map<String, Long> m = asMap();
        for (var e : overrides.entrySet()) {
            if (!m.containsKey(e.getKey())) {
                throw new IllegalArgumentException("unknown parameter '" + e.getKey() + "'; known: "
                        + String.join(", ", NAMES));
            }
            long value;
            try {
                value = Long.parseLong(e.getValue().trim());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("parameter " + e.getKey() + ": '" + e.getValue()
                        + "' is not an integer");
            }
            long max = e.getKey().equals("diff_storage_minimum") ? Long.MAX_VALUE >> SECTOR_SHIFT : Integer.MAX_VALUE;
            if (value < 0 || value > max) {
                throw new IllegalArgumentException("parameter " + e.getKey() + ": " + value + " is out of range 0.." + max);
            }
            m.put(e.getKey(), value);
        }
        return new Params(m.get(NAMES.get(0)).intValue(), m.get(NAMES.get(1)).intValue(), m.get(NAMES.get(2)).intValue(),
                m.get(NAMES.get(3)).intValue(), m.get(NAMES.get(4)).intValue(), m.get(NAMES.get(5)).intValue(),
                m.get(NAMES.get(6)).intValue(), m.get(NAMES.get(7)).intValue(), m.get(NAMES.get(8)));
    }

    /** A parameter set after the module's load-time fix-ups, and what was fixed. */
    public record Corrected(Params params, List<String> warnings) {
    }

    /**
     * The fix-ups of blksnap's parameters_init(), plus the bounds user space needs on top
     * (shifts that fit a long, at least one block and one queued chunk).
     */
    public Corrected corrected() {
        List<String> warnings = new ArrayList<>();
        int tMin = clamp("tracking_block_minimum_shift", trackingBlockMinimumShift, SECTOR_SHIFT, 40, warnings);
        int tMax = trackingBlockMaximumShift;
        if (tMax < tMin) {
            tMax = tMin;
            warnings.add("fixed tracking_block_maximum_shift: " + tMax);
        }
        tMax = clamp("tracking_block_maximum_shift", tMax, tMin, 40, warnings);
        int tCount = clamp("tracking_block_maximum_count", trackingBlockMaximumCount, 1, Integer.MAX_VALUE - 8, warnings);
        int cMin = chunkMinimumShift;
        if (cMin < PAGE_SHIFT) {
            cMin = PAGE_SHIFT;
            warnings.add("fixed chunk_minimum_shift: " + cMin);
        }
        // A chunk is copied through one Java buffer, so it must fit an int.
        cMin = clamp("chunk_minimum_shift", cMin, PAGE_SHIFT, 30, warnings);
        int cMax = chunkMaximumShift;
        if (cMax < cMin) {
            cMax = cMin;
            warnings.add("fixed chunk_maximum_shift: " + cMax);
        }
        cMax = clamp("chunk_maximum_shift", cMax, cMin, 30, warnings);
        int cCountShift = clamp("chunk_maximum_count_shift", chunkMaximumCountShift, 1, 62, warnings);
        int inQueue = clamp("chunk_maximum_in_queue", chunkMaximumInQueue, 1, 65536, warnings);
        int pool = clamp("free_diff_buffer_pool_size", freeDiffBufferPoolSize, 0, 65536, warnings);
        long chunkMinSectors = 1L << (cMin - SECTOR_SHIFT);
        long dMin = diffStorageMinimum;
        if (dMin < chunkMinSectors * 2) {
            dMin = chunkMinSectors * 2;
            warnings.add("fixed diff_storage_minimum: " + dMin);
        }
        if ((dMin & (chunkMinSectors - 1)) != 0) {
            dMin &= ~(chunkMinSectors - 1);
            warnings.add("fixed diff_storage_minimum: " + dMin);
        }
        return new Corrected(new Params(tMin, tCount, tMax, cMin, cCountShift, cMax, inQueue, pool, dMin), warnings);
    }

    private static int clamp(String name, int value, int min, int max, List<String> warnings) {
        int fixed = Math.max(min, Math.min(max, value));
        if (fixed != value) {
            warnings.add("fixed " + name + ": " + fixed);
        }
        return fixed;
    }

    /**
     * The block size rule of blksnap: start at the minimum shift, and grow while the count of
     * blocks (ceil(capacity / size)) is above the wanted maximum and the shift is below the
     * maximum shift. The last block may be short.
     */
    public static int blockShift(long capacity, int minimumShift, int maximumShift, long maximumCount) {
        int shift = minimumShift;
        while (blockCount(capacity, shift) > maximumCount && shift < maximumShift) {
            shift++;
        }
        return shift;
    }

    /** ceil(capacity / 2^shift). */
    public static long blockCount(long capacity, int shift) {
        return (capacity + (1L << shift) - 1) >>> shift;
    }

    /** The CBT block shift for a device of this capacity in bytes. */
    public int trackingBlockShift(long capacity) {
        return blockShift(capacity, trackingBlockMinimumShift, trackingBlockMaximumShift, trackingBlockMaximumCount);
    }

    /** The COW chunk shift for a device of this capacity in bytes. */
    public int chunkShift(long capacity) {
        return blockShift(capacity, chunkMinimumShift, chunkMaximumShift, 1L << chunkMaximumCountShift);
    }

    /** diff_storage_minimum in bytes. */
    public long diffStorageMinimumBytes() {
        return diffStorageMinimum << SECTOR_SHIFT;
    }
}
