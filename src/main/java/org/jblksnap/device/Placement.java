package org.jblksnap.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Where the bytes of a path live on this host: the path itself (a block device, a regular file
 * or a directory) and everything it is stored on, found through sysfs: the file system's
 * device, a partition's disk, the devices under a device-mapper or md device ({@code slaves}),
 * and the backing file of a loop device on the way, with what that file is stored on in turn.
 * Two placements overlap when one of them is stored on the other (a disk and its partition, a
 * file system and the device it is mounted from, a loop device and its backing file), which is
 * what the engine refuses between tracked devices and difference storages.
 */
public final class Placement {
    private static final int MAX_DEPTH = 16;

    /** A regular file by identity: its file system's device and its inode. */
    public record FileId(long dev, long ino) {
        public static FileId of(Path file) throws IOException {
            return new FileId((Long) Files.getAttribute(file, "unix:dev"), (Long) Files.getAttribute(file, "unix:ino"));
        }
    }

    private final Path path;
    /** What the path itself is: a DevNumber (block device), a FileId (regular file) or null (directory). */
    private final Object self;
    private final Set<DevNumber> devices = new LinkedHashSet<>();
    private final Set<FileId> files = new LinkedHashSet<>();
    private final List<Path> stackedFiles = new ArrayList<>();

    private Placement(Path path, Object self) {
        this.path = path;
        this.self = self;
    }

    /** The placement of an existing path (a block device, a regular file or a directory). */
    public static Placement of(Path path) throws IOException {
        Placement p;
        switch (BlockDevice.kindOf(path)) {
            case BLOCK_DEVICE -> {
                DevNumber d = DevNumber.ofNode(path);
                p = new Placement(path, d);
                p.walk(d, 0);
            }
            case FILE -> {
                p = new Placement(path, FileId.of(path));
                p.addFile(path, 0);
            }
            case DIRECTORY -> {
                p = new Placement(path, null);
                p.walk(fileSystemDevice(path), 0);
            }
            default -> throw new IOException(path + " is neither a block device, a regular file nor a directory");
        }
        return p;
    }

    public Path path() {
        return path;
    }

    /**
     * The regular files on the way, by the name the kernel gives them: the path itself when it
     * is one, and the backing files of the loop devices it is stored on.
     */
    public List<Path> stackedFiles() {
        return Collections.unmodifiableList(stackedFiles);
    }

    /** True when this path is stored on the other path (its device or its file is on the way). */
    public boolean isOn(Placement other) {
        if (other.self instanceof DevNumber d) {
            return devices.contains(d);
        }
        if (other.self instanceof FileId f) {
            return files.contains(f);
        }
        return false;
    }

    /** True when one of the two is stored on the other, or they are the same file or device. */
    public boolean overlaps(Placement other) {
        return (self != null && self.equals(other.self)) || isOn(other) || other.isOn(this);
    }

    private void addFile(Path file, int depth) throws IOException {
        stackedFiles.add(file);
        if (BlockDevice.kindOf(file) == BlockDevice.Kind.BLOCK_DEVICE) {
            // A loop device over a block device: that device is on the way.
            walk(DevNumber.ofNode(file), depth + 1);
            return;
        }
        if (BlockDevice.kindOf(file) != BlockDevice.Kind.FILE || !files.add(FileId.of(file))) {
            return;
        }
        walk(fileSystemDevice(file), depth + 1);
    }

    private void walk(DevNumber d, int depth) throws IOException {
        if (depth > MAX_DEPTH || !devices.add(d)) {
            return;
        }
        if (BlockSysfs.isPartition(d)) {
            walk(BlockSysfs.wholeDisk(d), depth + 1);
        }
        for (DevNumber s : BlockSysfs.slaves(d)) {
            walk(s, depth + 1);
        }
        String backing = BlockSysfs.loopBackingFile(d);
        if (backing != null) {
            Path file = Path.of(backing);
            if (BlockDevice.kindOf(file) == BlockDevice.Kind.MISSING) {
                stackedFiles.add(file);
            } else {
                addFile(file, depth + 1);
            }
        }
    }

    /**
     * The block device of the file system that holds path. A file system without one of its
     * own (btrfs gives each subvolume an anonymous number) counts as its mount's source when
     * that is a block device.
     */
    public static DevNumber fileSystemDevice(Path path) throws IOException {
        DevNumber d = DevNumber.ofFileSystem(path);
        if (!d.anonymous()) {
            return d;
        }
        for (MountTable.Mount m : MountTable.mounts()) {
            if (m.device().equals(d) && m.source().startsWith("/dev/")) {
                Path source = Path.of(m.source());
                if (BlockDevice.kindOf(source) == BlockDevice.Kind.BLOCK_DEVICE) {
                    return DevNumber.ofNode(source);
                }
            }
        }
        return d;
    }

    @Override
    public String toString() {
        return path + " on " + devices + (stackedFiles.isEmpty() ? "" : " via " + stackedFiles);
    }
}
