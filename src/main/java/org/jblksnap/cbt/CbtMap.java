package org.jblksnap.cbt;

import java.util.Arrays;
import java.util.UUID;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.params.Params;

/**
 * The change block tracking map of one device (blksnap's cbt_map.c).
 *
 * <p>Two maps of one byte per tracking block: writes set their blocks in the writable map to
 * the active snapshot number; at take the writable map is copied to the readable one, and
 * previous becomes active, active + 1. Block i changed since backup N of this generation iff
 * readable[i] > N (unsigned). When active would reach 256 a new generation starts: new UUID,
 * zeroed maps, active 1, previous 0, so nobody can compare numbers across the wrap.
 *
 * <p>Threading: {@link #markWrite} runs on the write path without a lock (plain byte stores;
 * the numbers only change in {@link #switchForTake}, which the tracker runs with every writer
 * of the device drained, so the stores cannot race with it). Everything that touches the
 * readable map or the numbers holds this object's monitor.
 */
public final class CbtMap {
    private final long capacity;
    private final int blockShift;
    private final int blockCount;
    /** Guarded by this. */
    private final byte[] readable;
    /** Written by device writes without a lock (see the class doc), by the rest under this. */
    private final byte[] writable;
    // -- guarded by this --
    private UUID generation;
    private int previous;
    /** Changed under this, with every writer drained; read by device writes without a lock. */
    private volatile int active;

    public CbtMap(long capacity, Params params) {
        this(capacity, params.trackingBlockShift(capacity), UUID.randomUUID(), 1, 0, null, null);
    }

    private CbtMap(long capacity, int blockShift, UUID generation, int active, int previous, byte[] readable,
            byte[] writable) {
        long count = Params.blockCount(capacity, blockShift);
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("device of " + capacity + " bytes needs " + count
                    + " tracking blocks of 2^" + blockShift + " bytes; raise tracking_block_maximum_shift");
        }
        if (active < 1 || active > 255 || previous < 0 || previous >= active) {
            throw new IllegalArgumentException("bad CBT numbers: active " + active + ", previous " + previous);
        }
        this.capacity = capacity;
        this.blockShift = blockShift;
        this.blockCount = (int) count;
        this.generation = generation;
        this.active = active;
        this.previous = previous;
        this.readable = readable != null ? readable : new byte[blockCount];
        this.writable = writable != null ? writable : new byte[blockCount];
        if (this.readable.length != blockCount || this.writable.length != blockCount) {
            throw new IllegalArgumentException("CBT maps of " + this.readable.length + "/" + this.writable.length
                    + " blocks do not fit a device of " + blockCount + " blocks");
        }
    }

    /** A map restored from saved state (both maps are taken over, not copied). */
    public static CbtMap restore(CbtState state) {
        return new CbtMap(state.capacity(), state.blockShift(), state.generation(), state.active(), state.previous(),
                state.readable(), state.writable());
    }

    /**
     * Starts a new generation (new UUID, zeroed maps, active 1, previous 0): the device's
     * content was replaced. Only with every writer drained (device writes set the writable
     * map without a lock).
     */
    public synchronized void newGeneration() {
        generation = UUID.randomUUID();
        Arrays.fill(readable, (byte) 0);
        Arrays.fill(writable, (byte) 0);
        previous = 0;
        active = 1;
    }

    /** A copy of the whole state, consistent as long as no write runs at the same time. */
    public synchronized CbtState state() {
        return new CbtState(capacity, blockShift, generation, active, previous, readable.clone(), writable.clone());
    }

    public long capacity() {
        return capacity;
    }

    public int blockShift() {
        return blockShift;
    }

    public long blockSize() {
        return 1L << blockShift;
    }

    public int blockCount() {
        return blockCount;
    }

    /**
     * The blocks written since the last take (the last backup's snapshot): those the writable
     * map holds the active number for (no block holds a later one). A count for metrics, read
     * without the lock.
     */
    public int dirtyBlocks() {
        return blocksLaterThan(active - 1);
    }

    /**
     * The blocks written since backup {@code number} of {@code generation} (what an incremental
     * from that backup would read): those the writable map holds a later number for; every
     * block when the map is of another generation now. A count for metrics, read without the
     * lock.
     */
    public int dirtyBlocksSince(UUID generation, int number) {
        synchronized (this) {
            if (!this.generation.equals(generation)) {
                return blockCount;
            }
        }
        return blocksLaterThan(number);
    }

    /** The blocks the writable map holds a number later than n for (unsigned), read without the lock. */
    private int blocksLaterThan(int n) {
        int count = 0;
        for (byte b : writable) {
            if (Byte.toUnsignedInt(b) > n) {
                count++;
            }
        }
        return count;
    }

    /** Marks the blocks of a device write of length bytes at offset: writable = active. */
    public void markWrite(long offset, long length) {
        if (length <= 0) {
            return;
        }
        int first = (int) (offset >>> blockShift);
        int last = (int) ((offset + length - 1) >>> blockShift);
        byte value = (byte) active;
        for (int i = first; i <= last; i++) {
            if (writable[i] != value) {
                writable[i] = value;
            }
        }
    }

    /**
     * Marks a range as changed outside the tracker's view (markdirtyblock, a write to a
     * snapshot image): readable = previous, writable = active, so the next backup and the
     * current one both see it.
     */
    public synchronized void markDirty(long offset, long length) {
        BlockDevice.checkRange(offset, length, capacity, "markdirtyblock");
        if (length == 0) {
            return;
        }
        int first = (int) (offset >>> blockShift);
        int last = (int) ((offset + length - 1) >>> blockShift);
        Arrays.fill(readable, first, last + 1, (byte) previous);
        Arrays.fill(writable, first, last + 1, (byte) active);
    }

    /**
     * The switch at snapshot take. The caller guarantees that no write to the device is in
     * flight and that none starts before this returns.
     */
    public synchronized void switchForTake() {
        if (active == 255) {
            generation = UUID.randomUUID();
            Arrays.fill(writable, (byte) 0);
            previous = 0;
            active = 1;
        } else {
            previous = active;
            active = active + 1;
        }
        System.arraycopy(writable, 0, readable, 0, blockCount);
    }

    /** count bytes of the readable map from block first (readcbtmap); a range outside is EINVAL. */
    public synchronized byte[] readReadable(int first, int count) {
        if (first < 0 || count < 0 || first > blockCount || count > blockCount - first) {
            throw new InvalidArgumentException("CBT blocks " + first + "+" + count + " outside 0.." + blockCount);
        }
        return Arrays.copyOfRange(readable, first, first + count);
    }

    /** True when tracking block i changed after backup number n of the current generation. */
    public synchronized boolean changedSince(int block, int n) {
        return Byte.toUnsignedInt(readable[block]) > n;
    }

    public synchronized UUID generation() {
        return generation;
    }

    public synchronized int previous() {
        return previous;
    }

    public int active() {
        return active;
    }

    public synchronized CbtInfo info() {
        return new CbtInfo(capacity, blockSize(), blockCount, generation, previous);
    }
}
