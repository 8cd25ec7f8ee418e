package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * jblksnap is the only writer of a tracked device (reliability audit F4, F12; upstream's
 * exclusive open and dev_id checks): a mounted device, a device overlapping a tracked one, a
 * file a loop device writes to, a storage on a tracked device, on a file system mounted from
 * one, on this engine's own export, or overlapping another snapshot's storage are all refused
 * with upstream's errno, and nothing changes. This kernel has no partition tables, so a loop
 * device over a slice of another (losetup --offset --sizelimit) stands in for a partition.
 */
class OneWriterScenarioTest {
    private static final long MIB = 1 << 20;
    // "   0:        0..    4095:      20482..     24577:   4096:" with -b512
    private static final Pattern EXTENT = Pattern.compile("^\\s*\\d+:\\s+\\d+\\.\\.\\s*\\d+:\\s+(\\d+)\\.\\.\\s*\\d+:\\s+(\\d+):");

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void overlapsAndSecondWritersAreRefused() throws Exception {
        try (Rig rig = new Rig(65536)) {
            // A mounted block device: the exclusive open fails.
            String mounted = rig.plainLoop(rig.file("mounted.img", 32));
            rig.mkfs("ext4", mounted);
            rig.mount(mounted, "mounted");
            assertEquals(Errno.EBUSY, refused(rig, () -> rig.engine.attach("m", Path.of(mounted))));

            // A disk and a "partition" of it: whichever is tracked, the other is refused.
            String disk = rig.plainLoop(rig.file("disk.img", 64));
            rig.engine.attach("disk", Path.of(disk));
            String part = rig.plainLoop(disk, "--offset", String.valueOf(MIB), "--sizelimit", String.valueOf(32 * MIB));
            assertEquals(Errno.EBUSY, refused(rig, () -> rig.engine.attach("part", Path.of(part))));
            // ... and so is a difference storage on it, or on a file system mounted from it.
            assertEquals(Errno.EINVAL, refused(rig, () -> rig.engine.create(Path.of(part), 16 * MIB, List.of())));
            assertEquals(Errno.EINVAL, refused(rig, () -> rig.engine.create(Path.of(disk), 16 * MIB, List.of())));
            rig.mkfs("ext4", part);
            Path onPart = rig.mount(part, "part");
            assertEquals(Errno.EINVAL, refused(rig, () -> rig.engine.create(onPart, 16 * MIB, List.of())));

            // markdirtyblock --file through the "partition": its offset on the tracked disk counts.
            Path dirty = onPart.resolve("dirty");
            SystemTools.check("fallocate", "--length", "1MiB", dirty.toString());
            SystemTools.check("sync", "-f", dirty.toString());
            SnapshotManager.MarkedFile marked = rig.engine.markDirtyFile(dirty, "disk");
            assertEquals("disk", marked.device());
            assertEquals(extents(dirty, MIB / 512), marked.sectorRanges().stream().map(r -> r[0] + ":" + r[1]).toList());
            // A file on no tracked device, or on another one than named.
            Path elsewhere = Files.writeString(rig.dir.resolve("elsewhere"), "x".repeat(8192));
            assertEquals(Errno.ENOENT, refused(rig, () -> rig.engine.markDirtyFile(elsewhere, null)));
            rig.attach("d1", 16);
            assertEquals(Errno.EINVAL, refused(rig, () -> rig.engine.markDirtyFile(dirty, "d1")));

            // Two storages, one on the other: the second is refused.
            String disk2 = rig.plainLoop(rig.file("disk2.img", 64));
            String part2 = rig.plainLoop(disk2, "--offset", String.valueOf(MIB), "--sizelimit", String.valueOf(32 * MIB));
            UUID first = rig.engine.create(Path.of(part2), 16 * MIB, List.of());
            assertEquals(Errno.EBUSY, refused(rig, () -> rig.engine.create(Path.of(disk2), 16 * MIB, List.of())));
            rig.engine.destroy(first);

            // A file a loop device writes to, and a loop device over a tracked file.
            Path looped = rig.file("looped.img", 16);
            rig.plainLoop(looped);
            assertEquals(Errno.EBUSY, refused(rig, () -> rig.engine.attach("looped", looped)));
            Path tracked = rig.dir.resolve("d1.img");
            String overTracked = rig.plainLoop(tracked.toString());
            assertEquals(Errno.EBUSY, refused(rig, () -> rig.engine.attach("over", Path.of(overTracked))));
        }
    }

    /** F12: storage or a device on a file system over this engine's own export would write through itself. */
    @Test
    void nothingIsStoredOnTheEnginesOwnExports() throws Exception {
        try (Rig rig = new Rig(65536)) {
            rig.attach("d1", 64);
            String l1 = rig.loop("d1");
            assertEquals(Errno.EINVAL, refused(rig, () -> rig.engine.attach("again", Path.of(l1))));
            rig.mkfs("ext4", l1);
            Path m1 = rig.mount(l1, "d1");
            Path storageFile = Files.write(m1.resolve("storage.img"), new byte[4096]);
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                assertEquals(Errno.EINVAL, refused(rig, () -> rig.engine.create(m1, 16 * MIB, List.of("d1"))));
                assertEquals(Errno.EINVAL, refused(rig, () -> rig.engine.create(storageFile, 16 * MIB, List.of("d1"))));
                assertEquals(Errno.EINVAL, refused(rig, () -> rig.engine.create(rig.exports.file("d1"), 16 * MIB, List.of())));
            });
            UUID id = rig.engine.create(rig.dir, 16 * MIB, List.of("d1"));
            rig.engine.take(id);
            rig.engine.destroy(id);
        }
    }

    /** Refused with a BlksnapException and nothing changed; returns its errno. */
    private static Errno refused(Rig rig, Executable call) {
        List<String> devices = rig.engine.trackers().stream().map(Tracker::name).toList();
        List<UUID> snapshots = rig.engine.collect();
        BlksnapException e = assertThrows(BlksnapException.class, call);
        assertTrue(!e.getMessage().isBlank());
        assertEquals(devices, rig.engine.trackers().stream().map(Tracker::name).toList(), e.getMessage());
        assertEquals(snapshots, rig.engine.collect(), e.getMessage());
        return e.errno();
    }

    /** filefrag's extents of a file as "first:count" sectors, shifted by where its device starts. */
    private static List<String> extents(Path file, long shiftSectors) throws Exception {
        List<String> ranges = new ArrayList<>();
        for (String line : SystemTools.check("filefrag", "-v", "-b512", file.toString()).out().split("\n")) {
            Matcher m = EXTENT.matcher(line);
            if (m.find()) {
                ranges.add((Long.parseLong(m.group(1)) + shiftSectors) + ":" + m.group(2));
            }
        }
        return ranges;
    }
}
