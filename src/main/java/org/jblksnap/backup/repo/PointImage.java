package org.jblksnap.backup.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.device.BlockIo;

/**
 * A point read as a device: read-only, its capacity the device's size, zero blocks read as
 * zeroes and every other block decompressed and checked against its hash. A few blocks are
 * kept decompressed for sequential readers. Safe for concurrent readers. The repository must
 * stay open while the image is used.
 */
public final class PointImage implements BlockIo {
    private static final int CACHED_BLOCKS = 8;
    private static final byte[] ZEROES = new byte[64 << 10];

    private final BlockStore store;
    private final Point point;
    private final PointIndex index;
    private final Map<Integer, byte[]> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, byte[]> eldest) {
            return size() > CACHED_BLOCKS;
        }
    };

    private PointImage(BlockStore store, Point point, PointIndex index) {
        this.store = store;
        this.point = point;
        this.index = index;
    }

    public static PointImage open(Repository repo, long pointId) throws IOException {
        Point p = repo.points().get(pointId);
        return new PointImage(repo.blocks(), p, repo.points().index(p));
    }

    public Point point() {
        return point;
    }

    @Override
    public long capacity() {
        return point.meta().size();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        BlockDevice.checkRange(offset, dst.remaining(), capacity(), "backup point " + point.id());
        int bs = point.meta().blockSize();
        long pos = offset;
        while (dst.hasRemaining()) {
            int block = (int) (pos / bs);
            int in = (int) (pos % bs);
            int n = Math.min(dst.remaining(), point.meta().blockLength(block) - in);
            Hash h = index.get(block);
            if (h.isZero()) {
                for (int left = n; left > 0; left -= Math.min(left, ZEROES.length)) {
                    dst.put(ZEROES, 0, Math.min(left, ZEROES.length));
                }
            } else {
                dst.put(block(block, h), in, n);
            }
            pos += n;
        }
    }

    private byte[] block(int block, Hash h) throws IOException {
        synchronized (cache) {
            byte[] b = cache.get(block);
            if (b != null) {
                return b;
            }
        }
        byte[] b = store.get(h, point.meta().blockLength(block));
        synchronized (cache) {
            cache.put(block, b);
        }
        return b;
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        throw new IOException("backup point " + point.id() + " is read-only");
    }

    @Override
    public void flush() {
        // nothing is ever written
    }

    @Override
    public boolean isReadOnly() {
        return true;
    }
}
