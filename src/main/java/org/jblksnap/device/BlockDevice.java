package org.jblksnap.device;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.Objects;
import java.util.Set;
import java.util.logging.Logger;

import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.PathException;
import org.jblksnap.params.Params;

/**
 * Positional I/O on a regular file or a block device, in whole 512-byte sectors. The
 * capacity is fixed at open: requests past it are refused, and a backing file that shrinks or
 * is replaced underneath is reported instead of read as zeroes. A block device is claimed
 * exclusively ({@link ExclusiveClaim}) for as long as it is open.
 */
public final class BlockDevice implements BlockIo, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BlockDevice.class.getName());
    private final Path path;
    private final FileChannel channel;
    private final long capacity;
    private final boolean blockDevice;
    private final boolean readOnly;
    private final Object fileKey;
    /** The exclusive claim of a block device; null for a file. */
    private final ExclusiveClaim claim;
    /** The first failed flush; from then on every flush fails (see {@link #flush}). */
    private volatile IOException flushFailure;

    private BlockDevice(Path path, FileChannel channel, long capacity, boolean blockDevice, boolean readOnly, Object fileKey,
            ExclusiveClaim claim) {
        this.path = path;
        this.channel = channel;
        this.capacity = capacity;
        this.blockDevice = blockDevice;
        this.readOnly = readOnly;
        this.fileKey = fileKey;
        this.claim = claim;
    }

    public static BlockDevice open(Path path) throws IOException {
        return open(path, false);
    }

    /**
     * Opens a regular file or a block device. Anything else, a missing path, an empty file or
     * a size that is not a multiple of 512 is refused with a clear message; so is a block device
     * that something else holds (mounted, an md or LVM member: EBUSY).
     */
    public static BlockDevice open(Path path, boolean readOnly) throws IOException {
        Kind kind = checkPath(path);
        ExclusiveClaim claim = kind == Kind.BLOCK_DEVICE ? ExclusiveClaim.of(path) : null;
        Set<Integer> before;
        FileChannel ch;
        try {
            before = CacheHints.before(path);
            ch = readOnly
                    ? FileChannel.open(path, StandardOpenOption.READ)
                    : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException | RuntimeException e) {
            if (claim != null) {
                claim.close();
            }
            throw e;
        }
        try {
            CacheHints.apply(path, before, !readOnly);
            // For a block device the JDK asks the kernel (BLKGETSIZE64) for the size.
            long capacity = ch.size();
            if (capacity <= 0) {
                throw new InvalidArgumentException("device " + path + " is empty");
            }
            if (capacity % Params.SECTOR_SIZE != 0) {
                throw new InvalidArgumentException("device " + path + " has size " + capacity
                        + ", which is not a multiple of " + Params.SECTOR_SIZE);
            }
            Object key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
            return new BlockDevice(path, ch, capacity, kind == Kind.BLOCK_DEVICE, readOnly, key, claim);
        } catch (IOException | RuntimeException e) {
            ch.close();
            if (claim != null) {
                claim.close();
            }
            throw e;
        }
    }

    /** Refuses a path that is not a regular file or a block device (PathException); returns which it is. */
    public static Kind checkPath(Path path) throws IOException {
        Kind kind = kindOf(path);
        if (kind == Kind.MISSING) {
            throw new PathException(Errno.ENOENT, "device path " + path + " does not exist");
        }
        if (kind != Kind.FILE && kind != Kind.BLOCK_DEVICE) {
            throw new PathException(Errno.EINVAL, "device path " + path + " is a " + kind.label
                    + ", not a regular file or a block device");
        }
        return kind;
    }

    /** What a path is, following symbolic links. */
    public enum Kind {
        MISSING("missing path"), DIRECTORY("directory"), FILE("regular file"), BLOCK_DEVICE("block device"),
        OTHER("special file");

        public final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    public static Kind kindOf(Path path) throws IOException {
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(path, PosixFileAttributes.class);
        } catch (NoSuchFileException e) {
            return Kind.MISSING;
        }
        if (a.isDirectory()) {
            return Kind.DIRECTORY;
        }
        if (a.isRegularFile()) {
            return Kind.FILE;
        }
        Object mode = Files.getAttribute(path, "unix:mode");
        int fmt = ((Integer) mode) & 0170000;
        return fmt == 0060000 ? Kind.BLOCK_DEVICE : Kind.OTHER;
    }

    /** True when both paths name the same file or device node target. */
    public static boolean sameFile(Path a, Path b) throws IOException {
        if (kindOf(a) == Kind.MISSING || kindOf(b) == Kind.MISSING) {
            return false;
        }
        if (Files.isSameFile(a, b)) {
            return true;
        }
        if (kindOf(a) == Kind.BLOCK_DEVICE && kindOf(b) == Kind.BLOCK_DEVICE) {
            return Objects.equals(Files.getAttribute(a, "unix:rdev"), Files.getAttribute(b, "unix:rdev"));
        }
        return false;
    }

    public Path path() {
        return path;
    }

    @Override
    public long capacity() {
        return capacity;
    }

    public boolean isBlockDevice() {
        return blockDevice;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    /** Refuses a request that is not whole sectors inside the device. */
    public void checkRange(long offset, long length) {
        checkRange(offset, length, capacity, path.toString());
    }

    public static void checkRange(long offset, long length, long capacity, String what) {
        if (((offset | length) & (Params.SECTOR_SIZE - 1)) != 0) {
            throw new InvalidArgumentException(what + ": offset " + offset + " and length " + length
                    + " must be multiples of " + Params.SECTOR_SIZE);
        }
        if (offset < 0 || length < 0 || offset > capacity || length > capacity - offset) {
            throw new InvalidArgumentException(what + ": range " + offset + "+" + length
                    + " is outside the device of " + capacity + " bytes");
        }
    }

    /** Reads dst.remaining() bytes at offset. */
    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        checkRange(offset, dst.remaining());
        try {
            FileIo.readFully(channel, offset, dst, path);
        } catch (ClosedChannelException e) {
            throw detached(e);
        }
    }

    /** Writes src.remaining() bytes at offset (a full file system is ENOSPC, see FileIo). */
    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
        if (readOnly) {
            throw new EngineIOException(Errno.EROFS, "device " + path + " is open read-only");
        }
        checkRange(offset, src.remaining());
        try {
            FileIo.writeFully(channel, offset, src);
        } catch (ClosedChannelException e) {
            throw detached(e);
        }
    }

    /**
     * Makes every completed write durable, and checks the backing file is still whole (three
     * more system calls per flush: a stat, its attributes and the size).
     *
     * <p>A failed flush is sticky: Linux reports a lost write-back once per open file, and all
     * clients of this device share this one file, so after the kernel has told one of them the
     * next fdatasync would succeed although acknowledged writes were dropped (PostgreSQL's
     * "fsyncgate"). From the first failure on, every flush fails, naming it, until the device
     * is detached and attached again.
     */
    @Override
    public void flush() throws IOException {
        IOException failed = flushFailure;
        if (failed != null) {
            throw new EngineIOException(Errno.EIO, "device " + path + ": a flush failed earlier (" + failed.getMessage()
                    + "), so writes since the one before may be lost; detach and attach the device again", failed);
        }
        try {
            if (!readOnly) {
                channel.force(false);
            }
        } catch (ClosedChannelException e) {
            throw detached(e);
        } catch (IOException e) {
            flushFailure = e;
            LOG.severe(() -> "device " + path + ": flush failed (" + e.getMessage() + "); every later flush fails"
                    + " until the device is detached and attached again");
            throw new EngineIOException(Errno.EIO, "device " + path + ": flush failed: " + e.getMessage(), e);
        }
        try {
            checkBacking();
        } catch (ClosedChannelException e) {
            throw detached(e);
        }
    }

    /** The first flush failure of this open device, or null (cbtinfo and metrics show it). */
    public IOException flushFailure() {
        return flushFailure;
    }

    /** I/O on a device whose channel was closed: it was detached (ENODEV). */
    private EngineIOException detached(ClosedChannelException e) {
        return new EngineIOException(Errno.ENODEV, "device " + path + " was detached", e);
    }

    /** Fails when the backing file was removed, replaced or shrunk since open. */
    public void checkBacking() throws IOException {
        if (kindOf(path) == Kind.MISSING) {
            throw new IOException("backing file " + path + " was removed while attached");
        }
        Object key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
        if (!Objects.equals(key, fileKey)) {
            throw new IOException("backing file " + path + " was replaced by another file while attached");
        }
        long size = channel.size();
        if (size < capacity) {
            throw new IOException("backing file " + path + " shrank from " + capacity + " to " + size + " bytes while attached");
        }
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            if (claim != null) {
                claim.close();
            }
        }
    }

    @Override
    public String toString() {
        return path + " (" + capacity + " bytes)";
    }
}
