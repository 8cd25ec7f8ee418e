package org.jblksnap.nbd.server;

import java.io.IOException;
import java.util.logging.Logger;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.tracker.Tracker;

/** The exports the server makes of the engine's devices and images. */
final class Exports {
    private static final Logger LOG = Logger.getLogger(Exports.class.getName());

    private Exports() {
    }

    /** A tracked device, read-write through its tracker; holes come from the file system. */
    static Export device(Tracker t) {
        SparseFile holes = holesOf(t.name(), t.device());
        return new Export(t.name(), "tracked device " + t.device().path(), t, false,
                MetaContexts.of(holes != null ? holes : MetaContexts.allData()));
    }

    /**
     * A snapshot image. Its base:allocation reports the device file's holes where the device
     * still holds the image ({@link ImageAllocation}); its CBT shows as qemu:dirty-bitmap
     * contexts.
     */
    static Export image(SnapshotImage image, boolean readOnly) {
        SparseFile holes = holesOf(image.name(), image.device());
        MetaContext allocation = holes != null ? new ImageAllocation(image, holes) : MetaContexts.allData();
        return new Export(image.name(), "snapshot image of " + image.deviceName() + " in snapshot " + image.snapshotId(),
                image, readOnly, MetaContexts.combine(MetaContexts.of(allocation), new DirtyBitmaps(image.cbt())));
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
