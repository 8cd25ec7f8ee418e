package org.jblksnap.tracker;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.device.BlockIo;
import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;

/**
 * The restore state of a device being restored live: which units (aligned pieces of the
 * source's size) already hold the source's content or a newer write on the device, and the
 * source to read the others from. The state machine, its locks and its file are in the
 * package doc.
 */
public final class Backfill {
    private static final int STRIPES = 1024;
    /** Marks a live-restore state file. */
    private static final long MAGIC = 0x4c4c4946_4b43_424aL;
    private static final int VERSION = 1;

    private final BlockDevice device;
    private final BlockIo source;
    private final String sourceName;
    private final String identity;
    private final int unit;
    private final long sourceSize;
    private final long units;
    private final AtomicLongArray done;
    private final AtomicLong doneCount = new AtomicLong();
    private final ReentrantReadWriteLock[] locks = new ReentrantReadWriteLock[STRIPES];
    private final Path stateFile;
    private final Object saving = new Object();

    private Backfill(BlockDevice device, BlockIo source, String sourceName, String identity, int unit, Path stateFile) {
        this.device = device;
        this.source = source;
        this.sourceName = sourceName;
        this.identity = identity;
        this.unit = unit;
        this.sourceSize = source.capacity();
        this.units = (sourceSize + unit - 1) / unit;
        this.done = new AtomicLongArray((int) ((units + 63) / 64));
        this.stateFile = stateFile;
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new ReentrantReadWriteLock();
        }
    }

    /**
     * The restore of source onto device, resumed from stateFile when it exists. identity names
     * the source for good (repository and point): a state file of another source is refused,
     * so that two sources are never mixed on one target. Units of unitBytes (a power of two,
     * at least a sector).
     */
    public static Backfill open(BlockDevice device, BlockIo source, String sourceName, String identity, int unitBytes,
            Path stateFile) throws IOException {
        if (Integer.bitCount(unitBytes) != 1 || unitBytes < 512) {
            throw new InvalidArgumentException("restore unit " + unitBytes + " is not a power of two of at least 512");
        }
        if (source.capacity() > device.capacity()) {
            throw new InvalidArgumentException("target " + device.path() + " has " + device.capacity()
                    + " bytes, less than the " + source.capacity() + " bytes of " + sourceName);
        }
        Backfill b = new Backfill(device, source, sourceName, identity, unitBytes, stateFile);
        if (Files.exists(stateFile)) {
            b.load();
        }
        return b;
    }

    /** Bytes of the source (the rest of the device is left as it is). */
    public long size() {
        return sourceSize;
    }

    public long units() {
        return units;
    }

    public int unitBytes() {
        return unit;
    }

    public long restoredUnits() {
        return doneCount.get();
    }

    public long restoredBytes() {
        return Math.min(sourceSize, doneCount.get() * unit);
    }

    public boolean complete() {
        return doneCount.get() == units;
    }

    public boolean isRestored(long u) {
        return (done.get((int) (u >>> 6)) & (1L << (u & 63))) != 0;
    }

    private void mark(long u) {
        int w = (int) (u >>> 6);
        long bit = 1L << (u & 63);
        long old = done.getAndUpdate(w, v -> v | bit);
        if ((old & bit) == 0) {
            doneCount.incrementAndGet();
        }
    }

    private ReentrantReadWriteLock lock(long u) {
        return locks[(int) (u % STRIPES)];
    }

    /** Reads the device as restored so far: restored units from the device, the others from the source. */
    void read(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        long end = offset + dst.remaining();
        while (pos < end) {
            if (pos >= sourceSize) {
                device.read(pos, dst.slice(dst.position() + (int) (pos - offset), (int) (end - pos)));
                break;
            }
            long u = pos / unit;
            int n = (int) (Math.min(end, Math.min((u + 1) * unit, sourceSize)) - pos);
            ByteBuffer part = dst.slice(dst.position() + (int) (pos - offset), n);
            if (isRestored(u)) {
                device.read(pos, part);
            } else {
                ReentrantReadWriteLock.ReadLock l = lock(u).readLock();
                l.lock();
                try {
                    if (isRestored(u)) {
                        device.read(pos, part);
                    } else {
                        readSource(pos, part);
                    }
                } finally {
                    l.unlock();
                }
            }
            pos += n;
        }
        dst.position(dst.position() + (int) (end - offset));
    }

    /**
     * Writes to the device: the units it covers only in part are filled from the source first
     * (under their locks), then the write goes, then every unit it touches counts as restored,
     * so the background copy never overwrites it.
     */
    void write(long offset, ByteBuffer src) throws IOException {
        long end = offset + src.remaining();
        long first = offset / unit;
        long last = Math.min(end, sourceSize) > offset ? (Math.min(end, sourceSize) - 1) / unit : first - 1;
        boolean allDone = true;
        for (long u = first; u <= last && allDone; u++) {
            allDone = isRestored(u);
        }
        if (allDone) {
            device.write(offset, src);
            return;
        }
        int[] stripes = stripes(first, last);
        for (int s : stripes) {
            locks[s].writeLock().lock();
        }
        try {
            if (!isRestored(first) && (offset > first * unit || end < unitEnd(first))) {
                fillLocked(first);
            }
            if (last != first && !isRestored(last) && end < unitEnd(last)) {
                fillLocked(last);
            }
            device.write(offset, src);
            for (long u = first; u <= last; u++) {
                mark(u);
            }
        } finally {
            for (int i = stripes.length - 1; i >= 0; i--) {
                locks[stripes[i]].writeLock().unlock();
            }
        }
    }

    private long unitEnd(long u) {
        return Math.min((u + 1) * unit, sourceSize);
    }

    private static int[] stripes(long first, long last) {
        if (last - first + 1 >= STRIPES) {
            int[] all = new int[STRIPES];
            Arrays.setAll(all, i -> i);
            return all;
        }
        return java.util.stream.LongStream.rangeClosed(first, last).mapToInt(u -> (int) (u % STRIPES)).distinct()
                .sorted().toArray();
    }

    /**
     * The background copy of one unit: copies it from the source unless it is restored (or
     * written) already. Returns the bytes copied.
     */
    public int fill(long u) throws IOException {
        if (isRestored(u)) {
            return 0;
        }
        ReentrantReadWriteLock.WriteLock l = lock(u).writeLock();
        l.lock();
        try {
            return isRestored(u) ? 0 : fillLocked(u);
        } finally {
            l.unlock();
        }
    }

    private int fillLocked(long u) throws IOException {
        long from = u * unit;
        int n = (int) Math.min(unit, sourceSize - from);
        ByteBuffer b = ByteBuffer.allocate(n);
        readSource(from, b);
        device.write(from, b.flip());
        mark(u);
        return n;
    }

    private void readSource(long offset, ByteBuffer dst) throws IOException {
        int n = dst.remaining();
        try {
            source.read(offset, dst);
        } catch (IOException e) {
            throw new EngineIOException(Errno.EIO, sourceName + ": " + n + " bytes at offset " + offset
                    + " cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * Makes the state durable: the units marked before the call are flushed on the device,
     * then recorded. A crash loses at most units whose writes were not flushed (they are
     * copied again at the resume, as a disk may lose unflushed writes).
     */
    public void save() throws IOException {
        synchronized (saving) {
            long[] bits = new long[done.length()];
            for (int i = 0; i < bits.length; i++) {
                bits[i] = done.get(i);
            }
            device.flush();
            Path tmp = stateFile.resolveSibling(stateFile.getFileName() + ".tmp");
            java.io.ByteArrayOutputStream headBytes = new java.io.ByteArrayOutputStream();
            try (java.io.DataOutputStream out = new java.io.DataOutputStream(headBytes)) {
                out.writeLong(MAGIC);
                out.writeInt(VERSION);
                out.writeUTF(identity);
                out.writeLong(sourceSize);
                out.writeInt(unit);
                out.writeLong(units);
            }
            ByteBuffer head = ByteBuffer.wrap(headBytes.toByteArray());
            ByteBuffer body = ByteBuffer.allocate(bits.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            body.asLongBuffer().put(bits);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                while (head.hasRemaining()) {
                    ch.write(head);
                }
                while (body.hasRemaining()) {
                    ch.write(body);
                }
                ch.force(true);
            }
            Files.move(tmp, stateFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel dir = FileChannel.open(stateFile.getParent(), StandardOpenOption.READ)) {
                dir.force(true);
            }
        }
    }

    private void load() throws IOException {
        try (DataInputStream in = new DataInputStream(Files.newInputStream(stateFile))) {
            if (in.readLong() != MAGIC || in.readInt() != VERSION) {
                throw new IOException(stateFile + " is not a live-restore state file");
            }
            String id = in.readUTF();
            long size = in.readLong();
            int u = in.readInt();
            long count = in.readLong();
            if (!id.equals(identity) || size != sourceSize || u != unit || count != units) {
                throw new InvalidArgumentException(device.path() + " holds an unfinished live restore of " + id
                        + " (state " + stateFile + "); finish that one, or restore without --live to overwrite it");
            }
            byte[] body = in.readAllBytes();
            ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
            if (body.length != done.length() * 8) {
                throw new IOException(stateFile + " is cut short");
            }
            for (int i = 0; i < done.length(); i++) {
                long v = b.getLong();
                done.set(i, v);
                doneCount.addAndGet(Long.bitCount(v));
            }
        }
    }

    /** The restore is over: its state goes. */
    void deleteState() throws IOException {
        Files.deleteIfExists(stateFile);
    }
}
