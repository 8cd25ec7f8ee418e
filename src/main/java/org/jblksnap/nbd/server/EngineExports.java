package org.jblksnap.nbd.server;

import java.io.IOException;
import java.util.logging.Logger;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.tracker.Tracker;

/**
 * The engine's devices and images as exports of a registry: subscribed to a
 * {@link SnapshotManager}, it adds an export when a device is attached or an image created,
 * and removes it (ending its connections) when the device detaches or the image goes.
 */
final class EngineExports implements SnapshotManager.Listener {
    private static final Logger LOG = Logger.getLogger(EngineExports.class.getName());

    private final ExportRegistry exports;
    private final boolean readOnlyImages;

    /** @param readOnlyImages export snapshot images read-only */
    EngineExports(ExportRegistry exports, boolean readOnlyImages) {
        this.exports = exports;
        this.readOnlyImages = readOnlyImages;
    }

    @Override
    public void deviceAttached(Tracker tracker) {
        exports.add(device(tracker));
    }

    @Override
    public void deviceDetaching(Tracker tracker) {
        exports.remove(tracker.name());
    }

    @Override
    public void imageCreated(SnapshotImage image) {
        exports.add(image(image));
    }

    @Override
    public void imageDestroying(SnapshotImage image) {
        exports.remove(image.name());
    }

    /** A tracked device, read-write through its tracker; holes come from the file system. */
    private static Export device(Tracker t) {
        SparseFile holes = holesOf(t.name(), t.device());
        return new Export(t.name(), "tracked device " + t.device().path(), t, false,
                MetaContexts.of(holes != null ? holes : MetaContexts.allData()));
    }

    /**
     * A snapshot image. Its base:allocation reports the device file's holes where the device
     * still holds the image ({@link ImageAllocation}); its CBT shows as qemu:dirty-bitmap
     * contexts.
     */
    private Export image(SnapshotImage image) {
        SparseFile holes = holesOf(image.name(), image.device());
        MetaContext allocation = holes != null ? new ImageAllocation(image, holes) : MetaContexts.allData();
        return new Export(image.name(), "snapshot image of " + image.deviceName() + " in snapshot " + image.snapshotId(),
                image, readOnlyImages, MetaContexts.combine(MetaContexts.of(allocation), new DirtyBitmaps(image.cbt())));
    }

    /** The holes of a device that is a regular file; null for a block device or when unknown. */
    private static SparseFile holesOf(String export, BlockDevice device) {
        if (device.isBlockDevice()) {
            return null;
        }
        try {
            return new SparseFile(device.path(), device.capacity());
        } catch (IOException e) {
            LOG.info(() -> export + ": holes will not be reported: " + e.getMessage());
            return null;
        }
    }
}
