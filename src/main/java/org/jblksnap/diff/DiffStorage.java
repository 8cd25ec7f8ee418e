package org.jblksnap.diff;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.LongConsumer;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.device.ExclusiveClaim;
import org.jblksnap.device.FileIo;
import org.jblksnap.device.Native;
import org.jblksnap.error.EngineIOException;
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
 * (fallocate). At the limit, or when the file system has no room for the growth, one
 * {@code no_space} event carries the total size requested so far, in sectors (blksnap's
 * {@code requested_nr_sect}: "grew up to N MiB"). {@link #raiseLimit} lets a taken snapshot
 * grow further, and a later limit brings a later {@code no_space}. An allocation that does not
 * fit even after growing sets overflow for good.
 *
 * <p>A block device is claimed exclusively ({@link ExclusiveClaim}) while it is the storage.
 */
public final class DiffStorage implements AutoCloseable {
    /** Where the storage lives. */
    public enum Kind { TEMP_FILE, FILE, BLOCK_DEVICE }

    /** How much of the storage is there and used, in bytes. */
    public record Usage(Kind kind, long size, long filled, long limit) {
    }

    private final Path path;
    private final Kind kind;
    private final FileChannel channel;
    private final int fd;
    private final ExclusiveClaim claim;
    private final long growthStep;
    private final LongConsumer noSpace;
    // -- guarded by this (allocation, growth, the limit, close) --
    private long limit;
    private long size;
    /** The size asked for so far: the size, plus a growth the file system had no room for. */
    private long requested;
    private long filled;
    private boolean noSpaceReported;
    private boolean growthFailed;
    /** Set under this, for good; read without a lock. */
    private volatile boolean overflow;

    private DiffStorage(Path path, Kind kind, FileChannel channel, int fd, ExclusiveClaim claim, long size, long limit,
            long growthStep, LongConsumer noSpace) {
        this.path = path;
        this.kind = kind;
        this.channel = channel;
        this.fd = fd;
        this.claim = claim;
        this.size = size;
        this.requested = size;
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
     * @param noSpace called with the total size requested so far, in sectors, when the storage
     *                reached its limit (or found no room to grow) and runs low; it runs under the
     *                allocation lock (so it is reported before any later overflow), so it must be
     *                quick and must not call back into this storage
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
                return new DiffStorage(file, kind, ch, fd, null, 0, limit, step, noSpace);
            }
            case FILE -> {
                FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
                return new DiffStorage(path, kind, ch, Native.descriptorOf(path), null, ch.size(), limit, step, noSpace);
            }
            case BLOCK_DEVICE -> {
                ExclusiveClaim claim = ExclusiveClaim.of(path);
                try {
                    FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
                    long capacity = ch.size();
                    return new DiffStorage(path, kind, ch, -1, claim, capacity, Math.min(limit, capacity), step, noSpace);
                } catch (IOException | RuntimeException e) {
                    claim.close();
                    throw e;
                }
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
                noSpace.accept(requested >> Params.SECTOR_SHIFT);
            }
            return offset;
        }
    }

    /**
     * Raises the limit (upstream issue #102: a long backup outgrows the limit it started with).
     * The storage grows on at once if it is low, and a new {@code no_space} comes at the new
     * limit. Refused for a block device (its size is fixed), after an overflow (the snapshot
     * is already lost) and for a limit below the present one.
     */
    public synchronized void raiseLimit(long newLimit) throws IOException {
        if (newLimit % Params.SECTOR_SIZE != 0) {
            throw new InvalidArgumentException("difference storage limit " + newLimit + " is not a multiple of "
                    + Params.SECTOR_SIZE);
        }
        if (kind == Kind.BLOCK_DEVICE) {
            throw new StorageException(Errno.EINVAL, "difference storage " + path
                    + " is a block device of fixed size; its limit cannot be raised");
        }
        if (overflow) {
            throw new StorageException(Errno.EFAULT, "difference storage " + path
                    + " has already overflowed: the snapshot is corrupted, a higher limit cannot bring it back");
        }
        if (newLimit < limit) {
            throw new InvalidArgumentException("difference storage limit " + newLimit + " is below the present limit "
                    + limit + "; it can only be raised");
        }
        if (!channel.isOpen()) {
            throw new IOException("difference storage " + path + " is closed");
        }
        limit = newLimit;
        noSpaceReported = false;
        growthFailed = false;
        if (size - filled <= growthStep / 2) {
            grow(0);
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
        requested = size + by;
        int err = fd >= 0 ? Native.fallocate(fd, size, by) : Native.EOPNOTSUPP;
        if (err == Native.EOPNOTSUPP) {
            // The file system cannot reserve space: extend the file sparsely instead; a full
            // file system then says so on this write (ENOSPC), which is no room, as above.
            try {
                FileIo.writeFully(channel, size + by - 1, ByteBuffer.allocate(1));
            } catch (EngineIOException e) {
                if (e.errno() != Errno.ENOSPC) {
                    throw e;
                }
                growthFailed = true;
                return;
            }
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

    public synchronized long limit() {
        return limit;
    }

    public synchronized Usage usage() {
        return new Usage(kind, size, filled, limit);
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
        try {
            channel.close();
        } finally {
            if (claim != null) {
                claim.close();
            }
        }
    }
}
