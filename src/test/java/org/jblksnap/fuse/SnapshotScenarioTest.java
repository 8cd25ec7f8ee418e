package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import org.jblksnap.diff.DiffStorage;
import org.jblksnap.image.SnapshotImage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Upstream's simple tests (1000-simple, 1100-loop_diff_storage, 1300-tmpfile_diff_storage):
 * two ext4 devices in one snapshot, files checked on the devices and on the mounted images,
 * writes to an image that survive its remount, and the devices intact after destroy; with the
 * difference storage as a file, as a directory (hidden temporary file) and as a separate
 * block device (a loop device over a plain file).
 */
class SnapshotScenarioTest {
    private static final long MIB = 1 << 20;

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @ParameterizedTest
    @EnumSource(DiffStorage.Kind.class)
    void twoExt4DevicesInOneSnapshot(DiffStorage.Kind storageKind) throws Exception {
        try (Rig rig = new Rig(16384)) {
            rig.attach("d1", 64);
            rig.attach("d2", 128);
            String l1 = rig.loop("d1");
            String l2 = rig.loop("d2");
            rig.mkfs("ext4", l1);
            rig.mkfs("ext4", l2);
            Path m1 = rig.mount(l1, "d1");
            Path m2 = rig.mount(l2, "d2");
            List<String> before1 = FileSet.small(m1, "before", 9, 1);
            List<String> before2 = FileSet.small(m2, "before", 4, 2);

            Path storage = switch (storageKind) {
                case FILE -> rig.file("diff_storage", 0);
                case TEMP_FILE -> Files.createDirectories(rig.dir.resolve("storage-dir"));
                case BLOCK_DEVICE -> Path.of(rig.plainLoop(rig.file("diff_storage.img", 128)));
            };
            UUID id = rig.engine.create(storage, 128 * MIB, List.of("d1", "d2"));
            rig.engine.take(id);
            assertEquals(storageKind, rig.engine.snapshot(id).storage().kind());

            List<String> after1 = FileSet.small(m1, "after", 3, 3);
            assertEquals(FileSet.union(before1, after1), FileSet.check(m1));

            String image1 = SnapshotImage.name("d1", id);
            String image2 = SnapshotImage.name("d2", id);
            String li1 = rig.loop(image1);
            String li2 = rig.loop(image2);
            Path mi1 = rig.mount(li1, "image1");
            Path mi2 = rig.mount(li2, "image2");
            assertEquals(FileSet.union(before1), FileSet.check(mi1), "image 1 shows device 1 at take");
            assertEquals(FileSet.union(before2), FileSet.check(mi2), "image 2 shows device 2 at take");

            List<String> written = FileSet.small(mi1, "snapshot", 3, 4);
            rig.remount(li1, mi1);
            assertEquals(FileSet.union(before1, written), FileSet.check(mi1), "image writes survive a remount");
            rig.umount(mi1);
            rig.umount(mi2);

            rig.engine.destroy(id);
            assertFalse(Files.exists(rig.exports.file(image1)));
            assertFalse(Files.exists(rig.exports.file(image2)));
            rig.exports.loops().settle();
            assertTrue(LoopSysfs.backingFile(li1) == null && LoopSysfs.backingFile(li2) == null,
                    "the images' loop devices went at destroy");
            if (storageKind == DiffStorage.Kind.TEMP_FILE) {
                try (var left = Files.list(storage)) {
                    assertEquals(0, left.count(), "the hidden storage file is deleted at destroy");
                }
            }

            rig.remount(l1, m1);
            assertEquals(FileSet.union(before1, after1), FileSet.check(m1), "device 1 intact, no image writes");
            assertEquals(FileSet.union(before2), FileSet.check(m2));
            rig.umount(m1);
            rig.umount(m2);
            rig.fsck("ext4", l1);
            rig.fsck("ext4", l2);
        }
    }
}
