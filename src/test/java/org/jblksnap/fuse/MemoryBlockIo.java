package org.jblksnap.fuse;

import java.nio.ByteBuffer;
import java.util.concurrent.locks.LockSupport;

import org.jblksnap.device.BlockIo;

/** A block device in memory that insists on whole sectors and is slow to read (to open race windows). */
final class MemoryBlockIo implements BlockIo {
    final byte[] bytes;
    private final long readDelayNanos;
    private final boolean readOnly;
    volatile int flushes;

    MemoryBlockIo(int size, long readDelayNanos) {
        this(size, readDelayNanos, false);
    }

    MemoryBlockIo(int size, long readDelayNanos, boolean readOnly) {
        this.bytes = new byte[size];
        this.readDelayNanos = readDelayNanos;
        this.readOnly = readOnly;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public long capacity() {
        return bytes.length;
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        check(offset, dst.remaining());
        synchronized (this) {
            dst.put(bytes, (int) offset, dst.remaining());
        }
        if (readDelayNanos > 0) {
            LockSupport.parkNanos(readDelayNanos);
        }
    }

    @Override
    public void write(long offset, ByteBuffer src) {
        check(offset, src.remaining());
        synchronized (this) {
            src.get(bytes, (int) offset, src.remaining());
        }
    }

    @Override
    public void flush() {
        flushes++;
    }

    private void check(long offset, int length) {
        if (offset % 512 != 0 || length % 512 != 0 || offset + length > bytes.length) {
            throw new IllegalArgumentException("not whole sectors inside the device: " + offset + "+" + length);
        }
    }
}
