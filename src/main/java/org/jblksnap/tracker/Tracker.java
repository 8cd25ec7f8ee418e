package org.jblksnap.tracker;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.jblksnap.cbt.CbtMap;
import org.jblksnap.device.BlockIo;
import org.jblksnap.cow.ChunkMap;
import org.jblksnap.device.BlockDevice;
import org.jblksnap.error.NoSuchDeviceException;

/**
 * The write path of one tracked device (blksnap's tracker.c with its block-layer filter).
 * Every write marks the CBT, then copies the chunks a snapshot still needs, then goes to the
 * device. Snapshot take and destroy switch state with the device's writes frozen and drained,
 * so each write sees one consistent state from start to end.
 */
public final class Tracker implements BlockIo, AutoCloseable {
    private final String name;
    private final BlockDevice device;
    private final CbtMap cbt;
    private final WriteGate gate = new WriteGate();
    private volatile ChunkMap cow;

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

    @Override
    public long capacity() {
        return device.capacity();
    }

    /** Reads the device as it is now. Reads do not pass the gate: they change nothing. */
    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        device.read(offset, dst);
    }

    /** The tracked write: CBT, then COW, then the device. */
    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        device.checkRange(offset, src.remaining());
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
     * Called while frozen: switches the CBT for a take and turns COW on with the given map
     * (or off, with null, at destroy).
     */
    public void setCowWhileFrozen(ChunkMap chunkMap) {
        cow = chunkMap;
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
