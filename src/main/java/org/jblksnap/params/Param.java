package org.jblksnap.params;

import java.util.function.ToLongFunction;

/**
 * The module parameters, each once: its upstream name, its default (blksnap 2.0), the range
 * the engine can use (values outside are moved into it at start with a warning, as the module
 * does at load time, see {@link Params#corrected()}) and why one would change it.
 */
public enum Param {
    /**
     * The smallest CBT block, 2^N bytes. Smaller blocks report changes more exactly (an
     * incremental backup reads less for scattered small writes) and cost one byte of memory
     * per block for each of the two maps.
     */
    TRACKING_BLOCK_MINIMUM_SHIFT("tracking_block_minimum_shift", 16, Params.SECTOR_SHIFT, 40, Params::trackingBlockMinimumShift),
    /**
     * How many CBT blocks a device may have before the block size grows: the bound on the
     * map's memory (two bytes per block) for large devices.
     */
    TRACKING_BLOCK_MAXIMUM_COUNT("tracking_block_maximum_count", 2097152, 1, Integer.MAX_VALUE - 8,
            Params::trackingBlockMaximumCount),
    /** The largest CBT block, 2^N bytes: above it the count bound gives way, not the precision. */
    TRACKING_BLOCK_MAXIMUM_SHIFT("tracking_block_maximum_shift", 26, Params.SECTOR_SHIFT, 40, Params::trackingBlockMaximumShift),
    /**
     * The smallest COW chunk, 2^N bytes (never below a page). The first write after take to a
     * chunk copies all of it, so small chunks copy less for scattered writes but need more
     * slots and more storage allocations; nbdkit's cow filter and qemu copy 64 KiB (16).
     */
    CHUNK_MINIMUM_SHIFT("chunk_minimum_shift", 18, Params.PAGE_SHIFT, 30, Params::chunkMinimumShift),
    /** At most 2^N chunks per device before the chunk grows: the bound on the chunk map. */
    CHUNK_MAXIMUM_COUNT_SHIFT("chunk_maximum_count_shift", 40, 1, 62, Params::chunkMaximumCountShift),
    /** The largest chunk, 2^N bytes; one chunk is copied through one Java buffer, so at most 2^30. */
    CHUNK_MAXIMUM_SHIFT("chunk_maximum_shift", 26, Params.PAGE_SHIFT, 30, Params::chunkMaximumShift),
    /**
     * Chunk copies in flight at once per snapshot (in blksnap: image I/O queued to the
     * storage). Here it bounds the chunk buffers in use: more lets more first writes copy at
     * once, at one chunk of direct memory each; a writer that finds none waits.
     */
    CHUNK_MAXIMUM_IN_QUEUE("chunk_maximum_in_queue", 256, 1, 65536, Params::chunkMaximumInQueue),
    /**
     * Free chunk buffers kept for the next copies instead of being given back: fewer
     * allocations under steady COW against memory held while idle.
     */
    FREE_DIFF_BUFFER_POOL_SIZE("free_diff_buffer_pool_size", 128, 0, 65536, Params::freeDiffBufferPoolSize),
    /**
     * The step in which the difference storage grows, in 512-byte sectors (at least two
     * smallest chunks, a multiple of one). Large steps mean fewer growths and fewer
     * {@code no_space} events near the limit; small steps reserve less disk early.
     */
    DIFF_STORAGE_MINIMUM("diff_storage_minimum", 2097152, 1, Long.MAX_VALUE >> Params.SECTOR_SHIFT, Params::diffStorageMinimum);

    private final String key;
    private final long defaultValue;
    private final long minimum;
    private final long maximum;
    private final ToLongFunction<Params> value;

    Param(String key, long defaultValue, long minimum, long maximum, ToLongFunction<Params> value) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.minimum = minimum;
        this.maximum = maximum;
        this.value = value;
    }

    /** The upstream name, as given to --param and in the config file. */
    public String key() {
        return key;
    }

    public long defaultValue() {
        return defaultValue;
    }

    /** The smallest value the engine can use. */
    public long minimum() {
        return minimum;
    }

    /** The largest value the engine can use. */
    public long maximum() {
        return maximum;
    }

    /** This parameter's value in a set. */
    public long of(Params params) {
        return value.applyAsLong(params);
    }

    /** The parameter of that name; refused with the known names. */
    public static Param byKey(String key) {
        for (Param p : values()) {
            if (p.key.equals(key)) {
                return p;
            }
        }
        StringBuilder known = new StringBuilder();
        for (Param p : values()) {
            known.append(known.isEmpty() ? "" : ", ").append(p.key);
        }
        throw new IllegalArgumentException("unknown parameter '" + key + "'; known: " + known);
    }
}
