package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.TestDevices;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Upstream's 1400-simple: a real block device as the tracked device (a loop device over a
 * file), opened exclusively, with ext4 on it through its export; then the rule for trusting a
 * block device's saved CBT map (README): kept across a clean detach when nothing wrote the
 * device, a new generation after a single sector written behind jblksnap's back.
 */
class BlockDeviceScenarioTest {
    private static final long MIB = 1 << 20;
    private static final Params PARAMS = TestDevices.params(java.util.Map.of("chunk_minimum_shift", "16",
            "diff_storage_minimum", "65536"));

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void aLoopBlockDeviceTrackedLikeAFile() throws Exception {
        try (Rig rig = Rig.savingCbt(PARAMS)) {
            Path blk = Path.of(rig.plainLoop(rig.file("disk.img", 128)));
            rig.engine.attach("d1", blk);
            String l1 = rig.loop("d1");
            rig.mkfs("ext4", l1);
            Path m1 = rig.mount(l1, "d1");
            List<String> before = FileSet.small(m1, "before", 9, 1);

            UUID id = rig.engine.create(rig.dir, 128 * MIB, List.of("d1"));
            rig.engine.take(id);
            List<String> after = FileSet.small(m1, "after", 3, 2);
            String li = rig.loop(SnapshotImage.name("d1", id));
            Path mi = rig.mount(li, "image");
            assertEquals(FileSet.union(before), FileSet.check(mi), "the image at take");
            rig.umount(mi);
            rig.engine.destroy(id);
            rig.remount(l1, m1);
            assertEquals(FileSet.union(before, after), FileSet.check(m1));
            rig.umount(m1);
            rig.exports.loops().detach("d1");
            rig.fsck("ext4", blk.toString());

            CbtInfo tracked = rig.engine.cbtInfo("d1");
            rig.engine.detach("d1");
            rig.engine.attach("d1", blk);
            assertEquals(tracked, rig.engine.cbtInfo("d1"), "untouched since the save: the map is kept");

            rig.engine.detach("d1");
            SystemTools.check("dd", "if=/dev/zero", "of=" + blk, "bs=4096", "count=1", "seek=100", "oflag=direct",
                    "conv=notrunc", "status=none");
            rig.engine.attach("d1", blk);
            assertNotEquals(tracked.generationId(), rig.engine.cbtInfo("d1").generationId(),
                    "written while untracked: a new generation");
            assertTrue(rig.engine.cbtInfo("d1").changesNumber() == 0);
        }
    }
}
