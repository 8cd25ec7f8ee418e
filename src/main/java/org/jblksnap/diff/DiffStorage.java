package org.jblksnap.diff;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.LongConsumer;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.device.FileIo;
import org.jblksnap.device.Native;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.StorageException;
import org.jblksnap.params.Params;

/**
 * The difference storage of one snapshot (blksnap's diff_storage.c): a linear allocator over a
 * file or a block device, shared by every device of the snapshot.
 *
 * <p>Where it lives:
 * <ul>
 * <li>a directory: a hidden temporary file, unlinked as soon as it is open, so it is gone at
 * destroy, at exit and even after a crash;</li>
 * <li>a regular file: used from offset 0 and grown; it is the user's and stays;</li>
 * <li>a block device: its whole size, fixed.</li>
 * </ul>
 *
 * <p>Growth: when the free space after an allocation falls to half of diff_storage_minimum,
 * the storage grows by min(minimum, limit − size), with the space really reserved
 * (fallocate). At the limit, one {@code no_space} event asks for diff_storage_minimum more
 * sectors. An allocation that does not fit even after growing sets overflow for good.
 */
public final class DiffStorage implements AutoCloseable {
    /** Where the storage lives. */
    public enum Kind { TEMP_FILE, FILE, BLOCK_DEVICE }

    private final Path path;
    private final Kind kind;
    private final FileChannel channel;
    private final int fd;
    private final long limit;
    private final long growthStep;
    private final LongConsumer noSpace;
    // -- guarded by this (allocation, growth, close) --
    private long size;
    private long filled;
    private boolean noSpaceReported;
    private boolean growthFailed;
    /** Set under this, for good; read without a lock. */
    private volatile boolean overflow;

    private DiffStorage(Path path, Kind kind, FileChannel channel, int fd, long size, long limit, long growthStep,
            LongConsumer noSpace) {
        this.path = path;
        this.kind = kind;
        this.channel = channel;
        this.fd = fd;
        this.size = size;
        this.limit = limit;
        this.growthStep = growthStep;
        this.noSpace = noSpace;
    }

    /**
     * Checks a storage path and limit without creating anything: the same errors
     * {@link #open} gives, for a snapshot_create that must fail before any state exists.
     */
    public static Kind check(Path path, long limit) throws IOException {
        if (limit <= 0) {
            throw new InvalidArgumentException("difference storage limit must be positive, got " + limit);
        }
        if (limit % Params.SECTOR_SIZE != 0) {
            throw new InvalidArgumentException("difference storage limit " + limit + " is not a multiple of "
                    + Params.SECTOR_SIZE);
        }
        return switch (BlockDevice.kindOf(path)) {
            case MISSING -> throw new StorageException(Errno.ENOENT, "difference storage path " + path
                    + " does not exist (give a directory, a regular file or a block device)");
            case OTHER -> throw new StorageException(Errno.EINVAL, "difference storage path " + path
                    + " is neither a directory, a regular file nor a block device");
            case DIRECTORY -> {
                if (!Files.isWritable(path)) {
                    throw new StorageException(Errno.EACCES, "difference storage directory " + path + " is not writable");
                }
                yield Kind.TEMP_FILE;
            }
            case FILE -> {
                long existing = Files.size(path);
                if (existing > limit) {
                    throw new StorageException(Errno.EINVAL, "difference storage limit " + limit
                            + " is smaller than the existing storage file " + path + " of " + existing + " bytes");
                }
                yield Kind.FILE;
            }
            case BLOCK_DEVICE -> Kind.BLOCK_DEVICE;
        };
    }

    /**
     * Opens the storage.
     *
     * @param noSpace called with the sectors wanted when the storage reached its limit and runs
     *                low; it runs under the allocation lock (so it is reported before any later
     *                overflow), so it must be quick and must not call back into this storage
     */
    public static DiffStorage open(Path path, long limit, Params params, LongConsumer noSpace) throws IOException {
        Kind kind = check(path, limit);
        long step = params.diffStorageMinimumBytes();
        switch (kind) {
            case TEMP_FILE -> {
                Path file = Files.createTempFile(path, ".jblksnap-diff-", ".tmp");
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                int fd;
                try {
                    fd = Native.descriptorOf(file);
                } finally {
                    Files.delete(file);
                }
                return new DiffStorage(file, kind, ch, fd, 0, limit, step, noSpace);
            }
            case FILE -> {
                FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
                return new DiffStorage(path, kind, ch, Native.descriptorOf(path), ch.size(), limit, step, noSpace);
            }
            case BLOCK_DEVICE -> {
                FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
                long capacity = ch.size();
                return new DiffStorage(path, kind, ch, -1, capacity, Math.min(limit, capacity), step, noSpace);
            }
            default -> throw new IllegalStateException(kind.toString());
        }
    }

    /**
     * Takes bytes of storage and returns their offset. Grows the storage on the way; throws
     * when the storage cannot hold them, and from then on for every call (overflow).
     */
    public long allocate(long bytes) throws IOException {
        synchronized (this) {
            if (!channel.isOpen()) {
                // Never fallocate through a descriptor number that may belong to another file now.
                throw new IOException("difference storage " + path + " is closed");
            }
            if (overflow) {
                throw new DiffStorageOverflowException("difference storage " + path + " has overflowed");
            }
            if (filled + bytes > size) {
                grow(filled + bytes - size);
            }
            if (filled + bytes > size) {
                overflow = true;
                throw new DiffStorageOverflowException("difference storage " + path + " is full: " + filled + " of "
                        + size + " bytes used (limit " + limit + "), " + bytes + " more needed");
            }
            long offset = filled;
            filled += bytes;
            if (size - filled <= growthStep / 2 && size < limit) {
                grow(0);
            }
            if (size - filled <= growthStep / 2 && (size >= limit || growthFailed) && !noSpaceReported) {
                noSpaceReported = true;
                // Under the lock: an overflow in another thread must not be reported first.
                noSpace.accept(growthStep >> Params.SECTOR_SHIFT);
            }
            return offset;
        }
    }

    /**
     * Grows by min(max(step, atLeast), limit − size). When the file system has no space for it
     * (a full disk, a quota, a file size limit) the size stays and the storage counts as stuck,
     * like at its limit; any other failure is an I/O error of the storage.
     */
    private void grow(long atLeast) throws IOException {
        if (kind == Kind.BLOCK_DEVICE || size >= limit) {
            return;
        }
        long by = Math.min(Math.max(growthStep, atLeast), limit - size);
        int err = fd >= 0 ? Native.fallocate(fd, size, by) : Native.EOPNOTSUPP;
        if (err == Native.EOPNOTSUPP) {
            // The file system cannot reserve space: extend the file sparsely instead.
            FileIo.writeFully(channel, size + by - 1, ByteBuffer.allocate(1));
        } else if (err == Native.ENOSPC || err == Native.EDQUOT || err == Native.EFBIG) {
            growthFailed = true;
            return;
        } else if (err != 0) {
            throw new IOException("difference storage " + path + ": fallocate of " + by + " bytes at " + size
                    + " failed with errno " + err);
        }
        size += by;
    }

    public void read(long offset, ByteBuffer dst) throws IOException {
        FileIo.readFully(channel, offset, dst, path);
    }

    public void write(long offset, ByteBuffer src) throws IOException {
        FileIo.writeFully(channel, offset, src);
    }

    public Path path() {
        return path;
    }

    public Kind kind() {
        return kind;
    }

    public long limit() {
        return limit;
    }

    public synchronized long size() {
        return size;
    }

    public synchronized long filled() {
        return filled;
    }

    public boolean isOverflow() {
        return overflow;
    }

    /** Under the allocation lock, so no growth is halfway through a closing descriptor. */
    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }
}
