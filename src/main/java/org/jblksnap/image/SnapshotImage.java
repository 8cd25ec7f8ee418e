package org.jblksnap.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.UUID;

import org.jblksnap.cbt.CbtMap;
import org.jblksnap.device.BlockDevice;
import org.jblksnap.device.BlockIo;
import org.jblksnap.cow.ChunkMap;
import org.jblksnap.error.ImageClosedException;
import org.jblksnap.device.WriteGate;

/**
 * The image of one device in a taken snapshot (blksnap's snapimage.c): the device as it was
 * at take, plus the image's own writes, which go to the difference storage and mark the CBT
 * (never the device). Its name, {@code <device>@<snapshot-id>}, is its export name.
 */
public final class SnapshotImage implements BlockIo {
    private final String deviceName;
    private final UUID snapshotId;
    private final long capacity;
    private final ChunkMap chunks;
    private final CbtMap cbt;
    private final WriteGate gate = new WriteGate();

    public SnapshotImage(String deviceName, UUID snapshotId, long capacity, ChunkMap chunks, CbtMap cbt) {
        this.deviceName = deviceName;
        this.snapshotId = snapshotId;
        this.capacity = capacity;
        this.chunks = chunks;
        this.cbt = cbt;
    }

    public static String name(String deviceName, UUID snapshotId) {
        return deviceName + "@" + snapshotId;
    }

    public String name() {
        return name(deviceName, snapshotId);
    }

    public String deviceName() {
        return deviceName;
    }

    public UUID snapshotId() {
        return snapshotId;
    }

    @Override
    public long capacity() {
        return capacity;
    }

    /** The device's change map, as switched at take (for dirty-bitmap queries). */
    public CbtMap cbt() {
        return cbt;
    }

    /** The device this is an image of. */
    public BlockDevice device() {
        return chunks.device();
    }

    /** See {@link ChunkMap#deviceHoldsImage(long)}. */
    public boolean deviceHoldsImage(long offset) {
        return chunks.deviceHoldsImage(offset);
    }

    /** The end of offset's copy-on-write chunk. */
    public long chunkEnd(long offset) {
        return chunks.chunkEnd(offset);
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        enter();
        try {
            chunks.readImage(offset, dst);
        } finally {
            gate.exit();
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        enter();
        try {
            // Marked first: a write that fails half-way may have changed the image, and an
            // extra mark costs a backup some reading, a missing one a silently stale block.
            cbt.markDirty(offset, src.remaining());
            chunks.writeImage(offset, src);
        } finally {
            gate.exit();
        }
    }

    /** The image is not persistent, so there is nothing to make durable; only checks it is open. */
    @Override
    public void flush() throws IOException {
        enter();
        gate.exit();
    }

    /** Destroy: waits for image I/O in flight; later I/O fails with {@link ImageClosedException}. */
    public void close() {
        gate.close();
    }

    private void enter() throws ImageClosedException {
        if (!gate.enter()) {
            throw new ImageClosedException("snapshot image " + name() + " is gone: its snapshot was destroyed");
        }
    }
}
