package org.jblksnap.nbd.server;

import java.io.IOException;
import java.util.List;
import java.util.UUID;

import org.jblksnap.cbt.CbtMap;
import org.jblksnap.nbd.protocol.CbtBitmapName;
import org.jblksnap.nbd.protocol.Nbd;

/**
 * The CBT of an image's device as qemu dirty bitmaps: {@code
 * qemu:dirty-bitmap:cbt-<generation>-<N>} (a {@link CbtBitmapName}) marks dirty the tracking
 * blocks changed since backup N of that generation (readable[i] > N). A name with another generation, or an N
 * this generation has not reached (above previous), selects nothing: the client then makes
 * a full backup rather than a silently incomplete incremental one.
 *
 * <p>Listing {@code qemu:dirty-bitmap:} (or {@code qemu:}, or everything) gives N =
 * previous − 1: the changes since the snapshot before this one.
 */
final class DirtyBitmaps implements MetaContextProvider {
    private final CbtMap cbt;

    DirtyBitmaps(CbtMap cbt) {
        this.cbt = cbt;
    }

    @Override
    public List<String> list(String query) {
        int previous = cbt.previous();
        if (query.isEmpty() || query.equals("qemu:") || query.equals(Nbd.CONTEXT_DIRTY_BITMAP_PREFIX)) {
            return previous >= 1 ? List.of(new CbtBitmapName(cbt.generation().toString(), previous - 1).context())
                    : List.of();
        }
        return select(query) != null ? List.of(query) : List.of();
    }

    @Override
    public MetaContext select(String name) {
        CbtBitmapName bitmap = CbtBitmapName.parse(name);
        UUID generation = cbt.generation();
        if (bitmap == null || !bitmap.generation().equals(generation.toString()) || bitmap.since() > cbt.previous()) {
            return null;
        }
        return new Bitmap(name, generation, bitmap.since());
    }

    /** One selected bitmap: the blocks changed since backup n. */
    private final class Bitmap implements MetaContext {
        private final String name;
        private final UUID generation;
        private final int n;

        Bitmap(String name, UUID generation, int n) {
            this.name = name;
            this.generation = generation;
            this.n = n;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void extents(long offset, long length, Extents out) throws IOException {
            int shift = cbt.blockShift();
            int first = (int) (offset >>> shift);
            int last = (int) ((offset + length - 1) >>> shift);
            byte[] map = cbt.readReadable(first, last - first + 1);
            // The generation only changes at a take, which needs this image's snapshot gone.
            if (!generation.equals(cbt.generation())) {
                throw new IOException("CBT generation changed under " + name);
            }
            long pos = offset;
            for (int i = 0; i < map.length && !out.full(); i++) {
                long blockEnd = Math.min((long) (first + i + 1) << shift, cbt.capacity());
                out.add(blockEnd - pos, Byte.toUnsignedInt(map[i]) > n ? Nbd.STATE_DIRTY : 0);
                pos = blockEnd;
            }
        }
    }
}
