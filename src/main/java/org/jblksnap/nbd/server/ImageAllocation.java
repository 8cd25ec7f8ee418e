package org.jblksnap.nbd.server;

import java.io.IOException;

import org.jblksnap.image.SnapshotImage;
import org.jblksnap.nbd.protocol.Nbd;

/**
 * base:allocation of a snapshot image of a regular file: the holes the device file has now,
 * where the device still holds the image's bytes. Everything else is data.
 *
 * <p>Order matters: the device's holes are looked up first, the chunks checked after. A
 * chunk still uncopied at the check had no device write begun before it (a write copies its
 * chunk first), so a hole seen earlier in it was a hole at take. A chunk copied since, or
 * written through the image, is reported as data, which is always true.
 */
final class ImageAllocation implements MetaContext {
    private final SnapshotImage image;
    private final SparseFile device;

    ImageAllocation(SnapshotImage image, SparseFile device) {
        this.image = image;
        this.device = device;
    }

    @Override
    public String name() {
        return Nbd.CONTEXT_BASE_ALLOCATION;
    }

    @Override
    public void extents(long offset, long length, Extents out) throws IOException {
        Extents seen = new Extents(length, Extents.MAX_DESCRIPTORS);
        device.extents(offset, length, seen);
        long pos = offset;
        for (int i = 0; i < seen.count() && !out.full(); i++) {
            long end = pos + seen.length(i);
            int flags = seen.flags(i);
            if ((flags & Nbd.STATE_HOLE) == 0) {
                out.add(end - pos, flags);
                pos = end;
                continue;
            }
            while (pos < end && !out.full()) {
                long to = Math.min(end, image.chunkEnd(pos));
                out.add(to - pos, image.deviceHoldsImage(pos) ? flags : 0);
                pos = to;
            }
        }
    }
}
