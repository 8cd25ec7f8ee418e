package org.jblksnap.nbd.server;

import java.io.IOException;
import java.util.List;
import java.util.UUID;

import org.jblksnap.cbt.CbtMap;
import org.jblksnap.nbd.protocol.Nbd;

/**
 * The CBT of an image's device as qemu dirty bitmaps: {@code
 * qemu:dirty-bitmap:cbt-<generation>-<N>} marks dirty the tracking blocks changed since
 * backup N of that generation (readable[i] > N). A name with another generation, or an N
 * this generation has not reached (above previous), selects nothing: the client then makes
 * a full backup rather than a silently incomplete incremental one.
 *
 * <p>Listing {@code qemu:dirty-bitmap:} (or {@code qemu:}, or everything) gives N =
 * previous − 1: the changes since the snapshot before this one.
 */
final class DirtyBitmaps implements MetaContextProvider {
    static final String PREFIX = Nbd.CONTEXT_DIRTY_BITMAP_PREFIX + "cbt-";

    private final CbtMap cbt;

    DirtyBitmaps(CbtMap cbt) {
        this.cbt = cbt;
    }

    static String name(UUID generation, int n) {
        return PREFIX + generation + "-" + n;
    }

    @Override
    public List<String> list(String query) {
        int previous = cbt.previous();
        UUID generation = cbt.generation();
        if (query.isEmpty() || query.equals("qemu:") || query.equals(Nbd.CONTEXT_DIRTY_BITMAP_PREFIX)) {
            return previous >= 1 ? List.of(name(generation, previous - 1)) : List.of();
        }
        return select(query) != null ? List.of(query) : List.of();
    }

    @Override
    public MetaContext select(String name) {
        if (!name.startsWith(PREFIX)) {
            return null;
        }
        int dash = name.lastIndexOf('-');
        String number = name.substring(dash + 1);
        if (dash <= PREFIX.length() || number.isEmpty() || number.length() > 3 || !number.chars().allMatch(Character::isDigit)) {
            return null;
        }
        UUID generation;
        try {
            generation = UUID.fromString(name.substring(PREFIX.length(), dash));
        } catch (IllegalArgumentException e) {
            return null;
        }
        int n = Integer.parseInt(number);
        if (!generation.equals(cbt.generation()) || !name.equals(name(generation, n)) || n > cbt.previous()) {
            return null;
        }
        return new Bitmap(name, generation, n);
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
