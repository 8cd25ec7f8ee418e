package org.jblksnap.device;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * What sysfs says of a block device ({@code /sys/dev/block/M:m}): its whole disk and partition
 * start, the devices it is built on ({@code slaves}), a loop device's backing file and offset,
 * and the kernel's I/O counters. Every call reads sysfs afresh; a device that is gone reads as
 * having none of these.
 */
public final class BlockSysfs {
    private static final Path DEV_BLOCK = Path.of("/sys/dev/block");
    private static final Path SYS_BLOCK = Path.of("/sys/block");
    private static final String DELETED = " (deleted)";
    /** strerror(ENODEV). */
    private static final String NO_SUCH_DEVICE = "No such device";
    /** Field of /sys/.../stat (0-based): sectors written (Documentation/block/stat.rst). */
    private static final int WRITE_SECTORS = 6;

    private BlockSysfs() {
    }

    /** The device's sysfs directory (its real path), or null when the kernel has no such block device. */
    static Path dir(DevNumber d) throws IOException {
        Path p = DEV_BLOCK.resolve(d.toString());
        try {
            return p.toRealPath();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Whether the device is a partition of a disk. */
    public static boolean isPartition(DevNumber d) throws IOException {
        Path dir = dir(d);
        return dir != null && Files.exists(dir.resolve("partition"));
    }

    /** The disk a partition is on; the device itself when it is not a partition. */
    public static DevNumber wholeDisk(DevNumber d) throws IOException {
        Path dir = dir(d);
        if (dir == null || !Files.exists(dir.resolve("partition"))) {
            return d;
        }
        return DevNumber.parse(Files.readString(dir.getParent().resolve("dev")));
    }

    /** Where a partition starts on its disk, in 512-byte sectors; 0 for a whole disk. */
    public static long partitionStart(DevNumber d) throws IOException {
        Path dir = dir(d);
        if (dir == null || !Files.exists(dir.resolve("partition"))) {
            return 0;
        }
        return Long.parseLong(Files.readString(dir.resolve("start")).strip());
    }

    /**
     * The devices this one is built on (device mapper, md): its {@code slaves}. (Its
     * {@code holders}, the devices built on it, are not needed: overlap is checked both ways.)
     */
    public static List<DevNumber> slaves(DevNumber d) throws IOException {
        List<DevNumber> found = new ArrayList<>();
        Path dir = dir(d);
        if (dir == null || !Files.isDirectory(dir.resolve("slaves"))) {
            return found;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.resolve("slaves"))) {
            for (Path s : ds) {
                try {
                    found.add(DevNumber.parse(Files.readString(s.resolve("dev"))));
                } catch (NoSuchFileException e) {
                    // gone while listing
                }
            }
        }
        return found;
    }

    /** The partitions of a disk (the sub-directories that are partitions). */
    public static List<DevNumber> partitions(DevNumber d) throws IOException {
        List<DevNumber> found = new ArrayList<>();
        Path dir = dir(d);
        if (dir == null) {
            return found;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path s : ds) {
                if (Files.exists(s.resolve("partition"))) {
                    found.add(DevNumber.parse(Files.readString(s.resolve("dev"))));
                }
            }
        }
        return found;
    }

    /** The backing file of a loop device, as the kernel names it; null when not a set-up loop device. */
    public static String loopBackingFile(DevNumber d) throws IOException {
        Path dir = dir(d);
        return dir == null ? null : loopBackingFile(dir);
    }

    /**
     * The backing file named in a loop device's sysfs directory, without the " (deleted)" mark;
     * null when the device is not set up, or is being torn down (then reading it fails with
     * ENODEV, which the JDK reports only by its message).
     */
    public static String loopBackingFile(Path sysDir) throws IOException {
        try {
            String s = Files.readString(sysDir.resolve("loop/backing_file")).strip();
            return s.endsWith(DELETED) ? s.substring(0, s.length() - DELETED.length()) : s;
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            if (NO_SUCH_DEVICE.equals(e.getMessage())) {
                return null;
            }
            throw e;
        }
    }

    /** Where a loop device starts in its backing file, in bytes. */
    public static long loopOffset(DevNumber d) throws IOException {
        Path dir = dir(d);
        return dir == null ? 0 : Long.parseLong(Files.readString(dir.resolve("loop/offset")).strip());
    }

    /** Every set-up loop device (/dev/loopN) with its backing file. */
    public static Map<String, String> loopDevices() throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(SYS_BLOCK, "loop*")) {
            for (Path p : ds) {
                String file = loopBackingFile(p);
                if (file != null) {
                    m.put("/dev/" + p.getFileName(), file);
                }
            }
        }
        return m;
    }

    /** Sectors written to the device since it appeared (its {@code stat}); -1 when it is gone. */
    public static long sectorsWritten(DevNumber d) throws IOException {
        Path dir = dir(d);
        if (dir == null) {
            return -1;
        }
        String[] f = Files.readString(dir.resolve("stat")).strip().split("\\s+");
        return Long.parseLong(f[WRITE_SECTORS]);
    }

    /**
     * The disk's sequence number ({@code diskseq}, Linux 5.15 and later): unique to this
     * instance of the disk since boot, so a loop device set up again or an LV re-created gets
     * another. Empty when the kernel does not say.
     */
    public static OptionalLong diskSequence(DevNumber d) throws IOException {
        Path dir = dir(wholeDisk(d));
        if (dir == null || !Files.exists(dir.resolve("diskseq"))) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Long.parseLong(Files.readString(dir.resolve("diskseq")).strip()));
    }
}
