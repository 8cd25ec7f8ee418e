package org.jblksnap.cow;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.diff.DiffStorage;
import org.jblksnap.error.Errno;
import org.jblksnap.error.SnapshotCorruptedException;

/**
 * The copy-on-write state of one device in one snapshot (blksnap's diff_area.c and chunk.c).
 *
 * <p>Chunk states and where they live:
 * <pre>
 *   new ──(first device or image write: read from device)──▶ in memory ──(stored)──▶ stored
 *                                        └──────────(I/O error, overflow)──────────▶ failed
 * </pre>
 * A slot per chunk holds 0 (new), storage offset + 1 (stored) or -1 (failed). "In memory"
 * exists only while the copying thread holds the chunk's write lock, so nobody else ever
 * sees it: readers of a new chunk hold the read lock while they read the device, and a copy
 * (which must come before any device write to the chunk) waits for them. A slot only ever
 * moves away from 0, so a non-zero slot is read without a lock.
 *
 * <p>Slots sit in pages of {@value #SLOTS_PER_PAGE} allocated on first touch, so memory follows
 * the chunks written, not the device size. Locks are striped: two chunks may share a lock,
 * which costs some waiting, never correctness.
 */
public final class ChunkMap {
    private static final int SLOT_PAGE_SHIFT = 12;
    private static final int SLOTS_PER_PAGE = 1 << SLOT_PAGE_SHIFT;
    private static final int STRIPES = 1024;
    private static final long FAILED = -1;

    private final String deviceName;
    private final BlockDevice device;
    private final int chunkShift;
    private final long chunkCount;
    private final DiffStorage storage;
    private final ChunkBufferPool buffers;
    private final CowHealth health;
    private final AtomicReferenceArray<AtomicLongArray> pages;
    private final ReentrantReadWriteLock[] stripes = new ReentrantReadWriteLock[STRIPES];
    private final AtomicLong copied = new AtomicLong();

    public ChunkMap(String deviceName, BlockDevice device, int chunkShift, DiffStorage storage,
            ChunkBufferPool buffers, CowHealth health) {
        if (buffers.bufferSize() < (1 << chunkShift)) {
            throw new IllegalArgumentException("chunk buffers of " + buffers.bufferSize() + " bytes are smaller than chunks of 2^"
                    + chunkShift);
        }
        this.deviceName = deviceName;
        this.device = device;
        this.chunkShift = chunkShift;
        this.chunkCount = (device.capacity() + (1L << chunkShift) - 1) >>> chunkShift;
        this.storage = storage;
        this.buffers = buffers;
        this.health = health;
        this.pages = new AtomicReferenceArray<>((int) ((chunkCount + SLOTS_PER_PAGE - 1) >>> SLOT_PAGE_SHIFT));
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantReadWriteLock();
        }
    }

    public int chunkShift() {
        return chunkShift;
    }

    public long chunkCount() {
        return chunkCount;
    }

    /** Chunks copied to the difference storage so far. */
    public long copiedChunks() {
        return copied.get();
    }

    public CowHealth health() {
        return health;
    }

    /**
     * Makes sure every chunk of a device write is copied before the write goes to the device.
     * Never fails: a chunk that cannot be copied fails the snapshot, and the device write goes
     * on (the device must not lose a write because its snapshot did).
     */
    public void beforeDeviceWrite(long offset, long length) {
        if (length <= 0) {
            return;
        }
        long last = (offset + length - 1) >>> chunkShift;
        for (long c = offset >>> chunkShift; c <= last && health.ok(); c++) {
            if (slot(c) == 0) {
                try {
                    copy(c);
                } catch (IOException e) {
                    // already recorded in health by copy(); the device write goes on
                }
            }
        }
    }

    /**
     * True while the device still holds the image's bytes of offset's chunk: the chunk was
     * never copied, so no device write to it has begun (a copy comes before any), and the
     * snapshot is healthy (a failed one lets device writes through uncopied). Asked after
     * looking at the device, it proves that what was seen there is the image's.
     */
    public boolean deviceHoldsImage(long offset) {
        return health.ok() && slot(offset >>> chunkShift) == 0;
    }

    /** The end of offset's chunk (the device's end for the last one). */
    public long chunkEnd(long offset) {
        return Math.min(device.capacity(), ((offset >>> chunkShift) + 1) << chunkShift);
    }

    public BlockDevice device() {
        return device;
    }

    /** Reads the image of the device at take. dst.remaining() bytes at offset. */
    public void readImage(long offset, ByteBuffer dst) throws IOException {
        checkHealthy();
        device.checkRange(offset, dst.remaining());
        forEachChunkPiece(offset, dst, this::readChunkPiece);
        // A device read of a new chunk overlaps COW being switched off only if it failed first.
        checkHealthy();
    }

    /** What is done with the piece of a buffer that falls in chunk c, at device offset pos. */
    @FunctionalInterface
    private interface PieceIo {
        void run(long c, long pos, ByteBuffer piece) throws IOException;
    }

    /**
     * Splits buf's remaining bytes at chunk borders and hands each piece (buf, limited to the
     * piece) to io; buf's limit is restored afterwards, its position is at the end.
     */
    private void forEachChunkPiece(long offset, ByteBuffer buf, PieceIo io) throws IOException {
        int limit = buf.limit();
        try {
            long pos = offset;
            while (buf.position() < limit) {
                long c = pos >>> chunkShift;
                long chunkEnd = (c + 1) << chunkShift;
                int n = (int) Math.min(limit - buf.position(), chunkEnd - pos);
                buf.limit(buf.position() + n);
                io.run(c, pos, buf);
                pos += n;
            }
        } finally {
            buf.limit(limit);
        }
    }

    private void readChunkPiece(long c, long pos, ByteBuffer dst) throws IOException {
        long s = slot(c);
        if (s > 0) {
            storage.read(s - 1 + (pos & chunkMask()), dst);
            return;
        }
        if (s == FAILED) {
            throw corrupted();
        }
        ReentrantReadWriteLock.ReadLock lock = stripe(c).readLock();
        lock.lock();
        try {
            s = slot(c);
            if (s == 0) {
                device.read(pos, dst);
            } else if (s > 0) {
                storage.read(s - 1 + (pos & chunkMask()), dst);
            } else {
                throw corrupted();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Writes to the image: each chunk is copied first if it never was, then the bytes go to
     * its place in the difference storage. The device is never written.
     */
    public void writeImage(long offset, ByteBuffer src) throws IOException {
        checkHealthy();
        device.checkRange(offset, src.remaining());
        forEachChunkPiece(offset, src, (c, pos, piece) -> {
            long s = slot(c);
            if (s == 0) {
                s = copyForImage(c);
            }
            if (s <= 0) {
                throw corrupted();
            }
            try {
                storage.write(s - 1 + (pos & chunkMask()), piece);
            } catch (IOException e) {
                // Part of the image's write may be in the storage: the image is no longer
                // what it was at take plus its acknowledged writes.
                health.fail(deviceName, Errno.EIO, e);
                SnapshotCorruptedException failed = corrupted();
                failed.initCause(e);
                throw failed;
            }
        });
    }

    /**
     * Copies chunk c for an image write. A copy that fails has failed the snapshot, so the
     * image writer hears what every later image I/O hears: the snapshot is corrupted.
     */
    private long copyForImage(long c) throws SnapshotCorruptedException {
        try {
            return copy(c);
        } catch (SnapshotCorruptedException e) {
            throw e;
        } catch (IOException e) {
            SnapshotCorruptedException failed = corrupted();
            failed.initCause(e);
            throw failed;
        }
    }

    /**
     * Copies chunk c unless someone did meanwhile; returns its slot. Any failure (an I/O
     * error, the storage full, memory or threads running out) fails the chunk and the
     * device's image, and comes back as an IOException: the device write that asked for the
     * copy goes on regardless.
     */
    private long copy(long c) throws IOException {
        ReentrantReadWriteLock.WriteLock lock = stripe(c).writeLock();
        lock.lock();
        try {
            long s = slot(c);
            if (s != 0) {
                return s;
            }
            if (!health.ok()) {
                throw corrupted();
            }
            return store(c);
        } finally {
            lock.unlock();
        }
    }

    /** The copy itself, under the chunk's write lock: device → buffer → storage. */
    private long store(long c) throws IOException {
        long start = c << chunkShift;
        int length = (int) Math.min(1L << chunkShift, device.capacity() - start);
        ByteBuffer buffer = null;
        try {
            buffer = buffers.acquire();
            buffer.limit(length);
            device.read(start, buffer); // in memory
            buffer.flip();
            long at = storage.allocate(length);
            storage.write(at, buffer);
            setSlot(c, at + 1); // stored
            copied.incrementAndGet();
            return at + 1;
        } catch (Throwable t) {
            setSlot(c, FAILED);
            Errno errno = Errno.of(t); // ENOSPC for an overflow, ENOMEM out of memory, else EIO
            IOException cause = t instanceof IOException io ? io
                    : new IOException("copy of chunk " + c + " of " + deviceName + " failed: " + t, t);
            health.fail(deviceName, errno, cause);
            throw cause;
        } finally {
            if (buffer != null) {
                buffers.release(buffer);
            }
        }
    }

    private void checkHealthy() throws SnapshotCorruptedException {
        if (!health.ok()) {
            throw corrupted();
        }
    }

    private SnapshotCorruptedException corrupted() {
        Errno e = health.error();
        return new SnapshotCorruptedException("snapshot image of " + deviceName + " is corrupted ("
                + (e == null ? Errno.EIO : e) + "): its difference storage failed");
    }

    private long chunkMask() {
        return (1L << chunkShift) - 1;
    }

    private ReentrantReadWriteLock stripe(long c) {
        return stripes[(int) (c & (STRIPES - 1))];
    }

    private long slot(long c) {
        AtomicLongArray page = pages.get((int) (c >>> SLOT_PAGE_SHIFT));
        return page == null ? 0 : page.get((int) (c & (SLOTS_PER_PAGE - 1)));
    }

    private void setSlot(long c, long value) {
        int p = (int) (c >>> SLOT_PAGE_SHIFT);
        AtomicLongArray page = pages.get(p);
        if (page == null) {
            pages.compareAndSet(p, null, new AtomicLongArray(SLOTS_PER_PAGE));
            page = pages.get(p);
        }
        page.set((int) (c & (SLOTS_PER_PAGE - 1)), value);
    }
}
