package org.jblksnap.nbd;

import java.io.IOException;
import java.util.logging.Logger;

import org.jblksnap.image.SnapshotImage;
import org.jblksnap.tracker.Tracker;

/** The exports the server makes of the engine's devices and images. */
final class Exports {
    private static final Logger LOG = Logger.getLogger(Exports.class.getName());

    private Exports() {
    }

    /** A tracked device, read-write through its tracker; holes come from the file system. */
    static Export device(Tracker t) {
        MetaContext allocation = MetaContexts.allData();
        if (!t.device().isBlockDevice()) {
            try {
                allocation = new SparseFile(t.device().path(), t.capacity());
            } catch (IOException e) {
                LOG.info(() -> "device " + t.name() + ": holes will not be reported: " + e.getMessage());
            }
        }
        return new Export(t.name(), "tracked device " + t.device().path(), t, false, MetaContexts.of(allocation));
    }

    /**
     * A snapshot image. Its base:allocation says data everywhere (true, if not the most
     * precise); its CBT shows as qemu:dirty-bitmap contexts.
     */
    static Export image(SnapshotImage image, boolean readOnly) {
        return new Export(image.name(), "snapshot image of " + image.deviceName() + " in snapshot " + image.snapshotId(),
                image, readOnly, MetaContexts.combine(MetaContexts.of(MetaContexts.allData()), new DirtyBitmaps(image.cbt())));
    }
}
