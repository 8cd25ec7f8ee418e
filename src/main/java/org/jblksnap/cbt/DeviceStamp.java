package org.jblksnap.cbt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.device.BlockSysfs;
import org.jblksnap.device.DevNumber;

/**
 * Which device a CBT map belongs to, and what says whether anything wrote it while it was not
 * tracked; taken at save and again at claim (the rules are in docs/STATE.md, "CBT state
 * file").
 *
 * <ul>
 * <li>A regular file is its file system's device and its inode; it is unchanged when its
 * mtime and ctime are those of the save and were not "racy" then: older than the last tracked
 * moment by more than the clock's granularity (git's rule), since a write in the same clock
 * tick leaves both as they were.</li>
 * <li>A block device is its device number; it is unchanged only within the same boot, on the
 * same instance of its disk (diskseq), with the kernel's count of sectors written to it and to
 * its whole disk where they were at the save.</li>
 * </ul>
 *
 * @param kind         what the device is
 * @param dev          a file: st_dev of its file system; a block device: its st_rdev
 * @param inode        a file's inode, else 0
 * @param mtimeNs      a file's modification time, else 0
 * @param ctimeNs      a file's change time, else 0
 * @param trackedUntil a file: the last moment every write had passed the tracker (saved only)
 * @param bootId       a block device: the boot it was seen in
 * @param diskSequence a block device: its disk's diskseq, or -1 when the kernel has none
 * @param written      a block device: sectors written to it since it appeared
 * @param diskWritten  a block device: sectors written to its whole disk
 */
record DeviceStamp(Kind kind, long dev, long inode, long mtimeNs, long ctimeNs, long trackedUntil, UUID bootId,
        long diskSequence, long written, long diskWritten) {
    enum Kind { FILE, BLOCK_DEVICE }

    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");
    /** A file system with nanosecond times still stamps them from a clock that ticks every jiffy (≤ 10 ms). */
    private static final long FINE_GRANULARITY_NS = TimeUnit.MILLISECONDS.toNanos(100);
    /** Times in whole seconds (FAT keeps two): the tick is up to two seconds. */
    private static final long COARSE_GRANULARITY_NS = TimeUnit.SECONDS.toNanos(3);

    /** The device as it is now; trackedUntil is that of a save, or null at claim. */
    static DeviceStamp of(Path path, Instant trackedUntil) throws IOException {
        if (BlockDevice.kindOf(path) == BlockDevice.Kind.BLOCK_DEVICE) {
            DevNumber d = DevNumber.ofNode(path);
            return new DeviceStamp(Kind.BLOCK_DEVICE, (Long) Files.getAttribute(path, "unix:rdev"), 0, 0, 0, 0,
                    UUID.fromString(Files.readString(BOOT_ID).strip()), BlockSysfs.diskSequence(d).orElse(-1),
                    BlockSysfs.sectorsWritten(d), BlockSysfs.sectorsWritten(BlockSysfs.wholeDisk(d)));
        }
        return new DeviceStamp(Kind.FILE, (Long) Files.getAttribute(path, "unix:dev"),
                (Long) Files.getAttribute(path, "unix:ino"), nanos(Files.getLastModifiedTime(path)),
                nanos((FileTime) Files.getAttribute(path, "unix:ctime")),
                trackedUntil == null ? 0 : epochNanos(trackedUntil),
                new UUID(0, 0), -1, 0, 0);
    }

    /**
     * Waits until a file's last change is older than its timestamps' granularity, so a later
     * change would stamp it differently; returns that moment. A block device needs no wait.
     */
    static Instant settle(Path path) throws IOException {
        if (BlockDevice.kindOf(path) == BlockDevice.Kind.FILE) {
            long changed = Math.max(nanos(Files.getLastModifiedTime(path)),
                    nanos((FileTime) Files.getAttribute(path, "unix:ctime")));
            long waitNs = changed + granularity(changed) - epochNanos(Instant.now());
            if (waitNs > 0) {
                try {
                    Thread.sleep(Duration.ofNanos(Math.min(waitNs, COARSE_GRANULARITY_NS)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        return Instant.now();
    }

    private static long granularity(long changedNs) {
        return changedNs % 1_000_000_000L == 0 ? COARSE_GRANULARITY_NS : FINE_GRANULARITY_NS;
    }

    private static long epochNanos(Instant t) {
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    private static long nanos(FileTime t) {
        return t.to(TimeUnit.NANOSECONDS);
    }

    /** The same device (whatever its name or path): the key of its saved map. */
    boolean sameDevice(DeviceStamp other) {
        return kind == other.kind && dev == other.dev && inode == other.inode;
    }

    /** A file name for the device's saved map, from its identity. */
    String key() {
        return kind == Kind.FILE ? "f-" + Long.toHexString(dev) + "-" + Long.toHexString(inode)
                : "b-" + DevNumber.of(dev).major() + "-" + DevNumber.of(dev).minor();
    }

    /**
     * Null when nothing can have written the device between this save and now; else why not.
     */
    String changedSince(DeviceStamp now) {
        if (kind == Kind.FILE) {
            if (mtimeNs != now.mtimeNs || ctimeNs != now.ctimeNs) {
                return "the backing file was modified while it was not tracked";
            }
            long changed = Math.max(mtimeNs, ctimeNs);
            long granularity = granularity(changed);
            if (trackedUntil - changed < granularity) {
                return "the backing file was last changed within " + granularity / 1_000_000 + " ms of the save"
                        + " (a later write in the same clock tick would not show: git's racy-timestamp rule)";
            }
            return null;
        }
        if (!bootId.equals(now.bootId)) {
            return "the host rebooted since the save (anything may have written a block device meanwhile)";
        }
        if (diskSequence < 0 || diskSequence != now.diskSequence) {
            return diskSequence < 0 ? "the kernel gives no disk sequence number to tell the disk is the same"
                    : "the disk was re-created since the save (its diskseq changed)";
        }
        if (written != now.written || diskWritten != now.diskWritten) {
            return "the device was written while it was not tracked (its sectors-written count moved)";
        }
        return null;
    }
}
