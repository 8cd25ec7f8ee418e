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
    private final IoCounters counters = new IoCounters();

    public Tracker(String name, BlockDevice device, CbtMap cbt) {
        if (cbt.capacity() != device.capacity()) {
            throw new IllegalArgumentException("CBT map of " + cbt.capacity() + " bytes for device of " + device.capacity());
        }
        this.name = name;
        this.device = device;
        this.cbt = cbt;
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

    /** Reads the device as it is now. Reads do not pass the gate: they change nothing. */
    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        long t0 = System.nanoTime();
        int length = dst.remaining();
        device.read(offset, dst);
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
            device.write(offset, src);
        } finally {
            gate.exit();
        }
        counters.write(length, System.nanoTime() - t0);
    }

    /** Makes acknowledged writes durable. */
    @Override
    public void flush() throws IOException {
        device.flush();
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
            device.flush();
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
