package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.device.BlockIo;

/**
 * A point read as a device: read-only, its capacity the device's size, zero blocks and
 * chunks read as zeroes, every other chunk decompressed and checked against its hash. The
 * manifests of recent blocks and a few recent chunks are kept for sequential readers. Safe
 * for concurrent readers. The repository must stay open while the image is used.
 */
public final class PointImage implements BlockIo {
    private static final int CACHED_MANIFESTS = 64;
    private static final int CACHED_CHUNKS = 16;
    private static final byte[] ZEROES = new byte[64 << 10];

    private final PackStore store;
    private final Point point;
    private final Geometry geometry;
    private final HashList index;
    private final Map<Integer, HashList> manifests = lru(CACHED_MANIFESTS);
    private final Map<Hash, byte[]> chunks = lru(CACHED_CHUNKS);

    private PointImage(PackStore store, Point point, HashList index) {
        this.store = store;
        this.point = point;
        this.geometry = point.meta().geometry();
        this.index = index;
    }

    private static <K, V> Map<K, V> lru(int size) {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > size;
            }
        };
    }

    public static PointImage open(Repository repo, long pointId) throws IOException {
        Point p = repo.points().get(pointId);
        return new PointImage(repo.packs(), p, repo.points().index(p));
    }

    @Override
    public long capacity() {
        return point.meta().size();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        BlockDevice.checkRange(offset, dst.remaining(), capacity(), "backup point " + point.id());
        long pos = offset;
        while (dst.hasRemaining()) {
            int block = (int) (pos / geometry.blockSize());
            int inBlock = (int) (pos % geometry.blockSize());
            int c = inBlock / geometry.chunkSize();
            int in = inBlock % geometry.chunkSize();
            int n = Math.min(dst.remaining(), geometry.chunkLength(block, c) - in);
            Hash h = chunkHash(block, c);
            if (h.isZero()) {
                for (int left = n; left > 0; left -= Math.min(left, ZEROES.length)) {
                    dst.put(ZEROES, 0, Math.min(left, ZEROES.length));
                }
            } else {
                dst.put(chunk(h, geometry.chunkLength(block, c)), in, n);
            }
            pos += n;
        }
    }

    private Hash chunkHash(int block, int c) throws IOException {
        HashList manifest;
        synchronized (manifests) {
            manifest = manifests.get(block);
        }
        if (manifest == null) {
            manifest = store.manifest(geometry, index, block);
            synchronized (manifests) {
                manifests.put(block, manifest);
            }
        }
        return manifest.get(c);
    }

    private byte[] chunk(Hash h, int length) throws IOException {
        synchronized (chunks) {
            byte[] b = chunks.get(h);
            if (b != null && b.length == length) {
                return b;
            }
        }
        byte[] b = store.chunk(h, length);
        synchronized (chunks) {
            chunks.put(h, b);
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
