package org.jblksnap.tracker;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.jblksnap.cbt.CbtMap;
import org.jblksnap.device.BlockIo;
import org.jblksnap.cow.ChunkMap;
import org.jblksnap.device.BlockDevice;
import org.jblksnap.device.WriteGate;
import org.jblksnap.error.NoSuchDeviceException;

/**
 * The write path of one tracked device (blksnap's tracker.c with its block-layer filter).
 * Every write marks the CBT, then copies the chunks a snapshot still needs, then goes to the
 * device, all inside the device's {@link WriteGate}. Snapshot take and destroy switch the CBT
 * and COW with the gate frozen and drained, so each write sees one consistent state from start
 * to end (the take and destroy protocols are in the {@code snapshot} package doc).
 */
public final class Tracker implements BlockIo, AutoCloseable {
    private final String name;
    private final BlockDevice device;
    private final CbtMap cbt;
    private final WriteGate gate = new WriteGate();
    private volatile ChunkMap cow;
    /** Set while the device is restored live (see the package doc); null otherwise. */
    private volatile Backfill backfill;
    private final IoCounters counters = new IoCounters();

    public Tracker(String name, BlockDevice device, CbtMap cbt) {
        this(name, device, cbt, null);
    }

    /** A device being restored live from the backfill's source when backfill is not null. */
    public Tracker(String name, BlockDevice device, CbtMap cbt, Backfill backfill) {
        if (cbt.capacity() != device.capacity()) {
            throw new IllegalArgumentException("CBT map of " + cbt.capacity() + " bytes for device of " + device.capacity());
        }
        this.name = name;
        this.device = device;
        this.cbt = cbt;
        this.backfill = backfill;
    }

    public String name() {
        return name;
    }

    public BlockDevice device() {
        return device;
    }

    public CbtMap cbt() {
        return cbt;
    }

    /** The device's I/O figures since it was attached. */
    public IoCounters counters() {
        return counters;
    }

    @Override
    public long capacity() {
        return device.capacity();
    }

    /**
     * Reads the device as it is now (while restored live: as restored so far, the rest from the
     * source). Reads do not pass the gate: they change nothing.
     */
    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        long t0 = System.nanoTime();
        int length = dst.remaining();
        Backfill b = backfill;
        if (b != null) {
            device.checkRange(offset, length);
            b.read(offset, dst);
        } else {
            device.read(offset, dst);
        }
        counters.read(length, System.nanoTime() - t0);
    }

    /** The tracked write: CBT, then COW, then the device. */
    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        device.checkRange(offset, src.remaining());
        long t0 = System.nanoTime();
        int length = src.remaining();
        enter();
        try {
            cbt.markWrite(offset, src.remaining());
            ChunkMap c = cow;
            if (c != null) {
                c.beforeDeviceWrite(offset, src.remaining());
            }
            Backfill b = backfill;
            if (b != null) {
                b.write(offset, src);
            } else {
                device.write(offset, src);
            }
        } finally {
            gate.exit();
        }
        counters.write(length, System.nanoTime() - t0);
    }

    /** Makes acknowledged writes durable (while restored live: with the record of what they restored). */
    @Override
    public void flush() throws IOException {
        Backfill b = backfill;
        if (b != null) {
            b.save();
        } else {
            device.flush();
        }
    }

    /** The live restore of this device, or null. */
    public Backfill backfill() {
        return backfill;
    }

    /**
     * The live restore is complete: the device reads as itself from now on, and its CBT starts
     * a new generation (nothing backed up before describes this content). Only while frozen.
     */
    public void endBackfillWhileFrozen() throws IOException {
        assert gate.isFrozenAndDrained() : "backfill of " + name + " ended while writes pass";
        Backfill b = backfill;
        if (b == null || !b.complete()) {
            throw new IllegalStateException("the live restore of " + name + " is not complete");
        }
        device.flush();
        cbt.newGeneration();
        backfill = null;
        b.deleteState();
    }

    /** Stops writes and waits for those in flight; the caller must {@link #thaw()}. */
    public void freeze() {
        gate.freeze();
    }

    public void thaw() {
        gate.thaw();
    }

    /**
     * Turns COW on with the given map at take, or off with null at destroy. Only while frozen:
     * every write then runs wholly with the old map or wholly with the new one.
     */
    public void setCowWhileFrozen(ChunkMap chunkMap) {
        assert gate.isFrozenAndDrained() : "COW of " + name + " switched while writes pass";
        cow = chunkMap;
    }

    /** True while frozen with no write in flight (for the engine's assertions). */
    public boolean isFrozen() {
        return gate.isFrozenAndDrained();
    }

    public ChunkMap cow() {
        return cow;
    }

    /** Detach: waits for writes in flight and flushes them; later writes fail. */
    @Override
    public void close() throws IOException {
        gate.close();
        try {
            Backfill b = backfill;
            if (b != null) {
                b.save();
            } else {
                device.flush();
            }
        } finally {
            device.close();
        }
    }

    private void enter() {
        if (!gate.enter()) {
            throw new NoSuchDeviceException("device " + name + " was detached");
        }
    }
}
