package org.jblksnap.device;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Arrays;

import com.sun.nio.file.ExtendedOpenOption;

/**
 * Files opened with {@code O_DIRECT} (a repository's pack files, a restore's target): reads and
 * writes that move between the disk and the caller's buffer, not through the page cache. Each
 * buffer address, file offset and length must be a multiple of the file system's block size
 * (the JDK checks it); a file system that has no direct I/O refuses the open, and the caller
 * then goes the buffered way.
 */
public final class DirectIo {
    /** Larger blocks than this are not worth buffers aligned to them: the caller goes buffered. */
    public static final int MAX_ALIGNMENT = 64 << 10;
    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;

    private DirectIo() {
    }

    /**
     * The alignment direct I/O on this file needs (a power of two, at least 4096), or 0 to go
     * buffered: also when the file's store cannot be found (the JDK looks it up in
     * /proc/self/mounts, which has no entry for the root of a chroot, or is missing). For a
     * block device the store is the one of its node (devtmpfs, 4096), which says nothing of the
     * device: its own logical block size counts too (a disk of 16 KiB sectors refuses a direct
     * write aligned to 4096 only), read from sysfs, and an unknown one means buffered.
     */
    public static int alignment(Path path) {
        long block;
        try {
            block = Files.getFileStore(path).getBlockSize();
            if (isBlockDevice(path)) {
                block = Math.max(block, logicalBlockSize(path));
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return 0;
        }
        return block > 0 && block <= MAX_ALIGNMENT && Long.bitCount(block) == 1 ? (int) Math.max(4096, block) : 0;
    }

    private static boolean isBlockDevice(Path path) throws IOException {
        return ((Integer) Files.getAttribute(path, "unix:mode") & S_IFMT) == S_IFBLK;
    }

    /** The device's logical block size, from /sys/dev/block/MAJOR:MINOR/queue/logical_block_size. */
    private static long logicalBlockSize(Path device) throws IOException {
        long rdev = (Long) Files.getAttribute(device, "unix:rdev");
        long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
        long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
        String text = Files.readString(Path.of("/sys/dev/block/" + major + ":" + minor + "/queue/logical_block_size"));
        return Long.parseLong(text.strip());
    }

    /**
     * The file opened with O_DIRECT and the options, or null when its file system refuses it
     * (EINVAL); a missing file or a refused permission is thrown, as a buffered open says them.
     */
    public static FileChannel open(Path path, OpenOption... options) throws IOException {
        OpenOption[] direct = Arrays.copyOf(options, options.length + 1);
        direct[options.length] = ExtendedOpenOption.DIRECT;
        try {
            return FileChannel.open(path, direct);
        } catch (NoSuchFileException | AccessDeniedException e) {
            throw e;
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }
}
