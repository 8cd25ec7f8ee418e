package org.jblksnap.fuse;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

import org.jblksnap.device.BlockSysfs;
import org.jblksnap.device.DevNumber;
import org.jblksnap.device.MountTable;
import org.jblksnap.device.Native;
import org.jblksnap.error.Errno;
import org.jblksnap.snapshot.HostStack;

/**
 * Freezes the file systems mounted on loop devices over export files (FIFREEZE on their mount
 * points) for the instant of take, and thaws them (FITHAW), so a snapshot's image holds a file
 * system as consistent as one cleanly unmounted: ext4 flushes its journal and clears
 * needs_recovery. A loop device counts whoever set it up (the loop verb or losetup), and so do
 * its partitions; a file system is frozen once however many mounts it has. One already frozen
 * by someone else (fsfreeze) is left as it is, and thawed by them.
 *
 * <p>What is frozen is recorded until thawed, so {@link #thawAll} (at close) leaves nothing
 * frozen behind.
 */
final class FileSystemFreezer {
    private static final Logger LOG = Logger.getLogger(FileSystemFreezer.class.getName());

    private final Path mountDir;
    /** Frozen mount points, by the device their file system is on. */
    private final Map<DevNumber, Path> frozen = new LinkedHashMap<>();

    FileSystemFreezer(Path mountDir) {
        this.mountDir = mountDir;
    }

    /** Freezes the file systems over these exports; the returned thaw undoes exactly that. */
    synchronized HostStack.Thaw freeze(List<String> exports) {
        Set<DevNumber> devices;
        List<MountTable.Mount> mounts;
        try {
            devices = blockDevicesOver(exports);
            mounts = devices.isEmpty() ? List.of() : MountTable.mounts();
        } catch (IOException e) {
            LOG.warning(() -> "cannot find the file systems over " + exports + " to freeze them (" + e.getMessage()
                    + "); taking without freezing");
            return () -> { };
        }
        List<DevNumber> mine = new ArrayList<>();
        for (MountTable.Mount m : mounts) {
            DevNumber d = m.device();
            if (!devices.contains(d) || frozen.containsKey(d)) {
                continue;
            }
            int err = ioctlAt(m.mountPoint(), Native.FIFREEZE);
            if (err == 0) {
                frozen.put(d, m.mountPoint());
                mine.add(d);
                LOG.fine(() -> "froze " + m.mountPoint() + " (" + d + ") for take");
            } else if (err == Errno.EBUSY.code()) {
                LOG.info(() -> m.mountPoint() + " is already frozen; taken as it is");
            } else {
                LOG.warning(() -> "cannot freeze " + m.mountPoint() + " (" + Errno.ofCode(err)
                        + "); its image may need a journal replay or a check");
            }
        }
        return () -> thaw(mine);
    }

    private synchronized void thaw(List<DevNumber> devices) {
        for (DevNumber d : devices.reversed()) {
            Path mp = frozen.remove(d);
            if (mp != null) {
                int err = ioctlAt(mp, Native.FITHAW);
                if (err != 0) {
                    LOG.warning(() -> "cannot thaw " + mp + " (" + Errno.ofCode(err) + "); run fsfreeze --unfreeze " + mp);
                }
            }
        }
    }

    /** Thaws whatever is still frozen (at close: a take cut short must not leave one frozen). */
    synchronized void thawAll() {
        thaw(List.copyOf(frozen.keySet()));
    }

    /** The loop devices over these exports' files, and their partitions. */
    private Set<DevNumber> blockDevicesOver(List<String> exports) throws IOException {
        Set<String> files = new LinkedHashSet<>();
        for (String e : exports) {
            files.add(mountDir.resolve(e).toString());
        }
        Set<DevNumber> found = new LinkedHashSet<>();
        for (Map.Entry<String, String> loop : BlockSysfs.loopDevices().entrySet()) {
            if (files.contains(loop.getValue())) {
                DevNumber d = DevNumber.ofNode(Path.of(loop.getKey()));
                found.add(d);
                found.addAll(BlockSysfs.partitions(d));
            }
        }
        return found;
    }

    /** ioctl(request) on a directory opened read-only: 0 or the errno. */
    private static int ioctlAt(Path dir, long request) {
        int fd = Native.open(dir.toString(), Native.O_RDONLY | Native.O_DIRECTORY | Native.O_CLOEXEC);
        if (fd < 0) {
            return -fd;
        }
        try {
            int rc = Native.ioctl(fd, request, MemorySegment.NULL);
            return rc < 0 ? -rc : 0;
        } finally {
            Native.close(fd);
        }
    }
}
