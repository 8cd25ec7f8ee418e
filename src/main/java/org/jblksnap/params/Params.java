package org.jblksnap.params;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A set of the blksnap module parameters; each parameter, its name, default, range and
 * meaning, is declared once in {@link Param}.
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

    /** The defaults of every {@link Param}. */
    public static Params defaults() {
        Map<Param, Long> m = new EnumMap<>(Param.class);
        for (Param p : Param.values()) {
            m.put(p, p.defaultValue());
        }
        return of(m);
    }

    /** A set from a value for every parameter. */
    private static Params of(Map<Param, Long> m) {
        return new Params((int) (long) m.get(Param.TRACKING_BLOCK_MINIMUM_SHIFT), (int) (long) m.get(Param.TRACKING_BLOCK_MAXIMUM_COUNT),
                (int) (long) m.get(Param.TRACKING_BLOCK_MAXIMUM_SHIFT), (int) (long) m.get(Param.CHUNK_MINIMUM_SHIFT),
                (int) (long) m.get(Param.CHUNK_MAXIMUM_COUNT_SHIFT), (int) (long) m.get(Param.CHUNK_MAXIMUM_SHIFT),
                (int) (long) m.get(Param.CHUNK_MAXIMUM_IN_QUEUE), (int) (long) m.get(Param.FREE_DIFF_BUFFER_POOL_SIZE),
                m.get(Param.DIFF_STORAGE_MINIMUM));
    }

    /** Values by parameter, in the upstream order. */
    private Map<Param, Long> values() {
        Map<Param, Long> m = new EnumMap<>(Param.class);
        for (Param p : Param.values()) {
            m.put(p, p.of(this));
        }
        return m;
    }

    /** Values as a name → value map, in the upstream order. */
    public Map<String, Long> asMap() {
        Map<String, Long> m = new LinkedHashMap<>();
        values().forEach((p, v) -> m.put(p.key(), v));
        return m;
    }

    /**
     * This set with the named values replaced. Unknown names and values that are not
     * non-negative integers that fit the parameter are refused; nothing is replaced then.
     * Values outside what the engine can use are moved into range by {@link #corrected()}.
     */
    public Params with(Map<String, String> overrides) {
        Map<Param, Long> m = values();
        for (var e : overrides.entrySet()) {
            Param p = Param.byKey(e.getKey());
            long value;
            try {
                value = Long.parseLong(e.getValue().trim());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("parameter " + e.getKey() + ": '" + e.getValue()
                        + "' is not an integer");
            }
            long max = p == Param.DIFF_STORAGE_MINIMUM ? p.maximum() : Integer.MAX_VALUE;
            if (value < 0 || value > max) {
                throw new IllegalArgumentException("parameter " + e.getKey() + ": " + value + " is out of range 0.." + max);
            }
            m.put(p, value);
        }
        return of(m);
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
        Map<Param, Long> m = values();
        for (Param p : Param.values()) {
            m.put(p, clamp(p, m.get(p), p.minimum(), warnings));
        }
        // The rules between parameters: a maximum shift not below its minimum...
        m.put(Param.TRACKING_BLOCK_MAXIMUM_SHIFT, clamp(Param.TRACKING_BLOCK_MAXIMUM_SHIFT,
                m.get(Param.TRACKING_BLOCK_MAXIMUM_SHIFT), m.get(Param.TRACKING_BLOCK_MINIMUM_SHIFT), warnings));
        m.put(Param.CHUNK_MAXIMUM_SHIFT, clamp(Param.CHUNK_MAXIMUM_SHIFT, m.get(Param.CHUNK_MAXIMUM_SHIFT),
                m.get(Param.CHUNK_MINIMUM_SHIFT), warnings));
        // ... and a storage growth step of at least two smallest chunks, in whole chunks.
        long chunkMinSectors = 1L << (m.get(Param.CHUNK_MINIMUM_SHIFT) - SECTOR_SHIFT);
        long dMin = m.get(Param.DIFF_STORAGE_MINIMUM);
        if (dMin < chunkMinSectors * 2) {
            dMin = chunkMinSectors * 2;
            warnings.add("fixed diff_storage_minimum: " + dMin);
        }
        if ((dMin & (chunkMinSectors - 1)) != 0) {
            dMin &= ~(chunkMinSectors - 1);
            warnings.add("fixed diff_storage_minimum: " + dMin);
        }
        m.put(Param.DIFF_STORAGE_MINIMUM, dMin);
        return new Corrected(of(m), warnings);
    }

    private static long clamp(Param p, long value, long min, List<String> warnings) {
        long fixed = Math.max(min, Math.min(p.maximum(), value));
        if (fixed != value) {
            warnings.add("fixed " + p.key() + ": " + fixed);
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
