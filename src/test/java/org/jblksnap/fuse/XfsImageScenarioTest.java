package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import org.jblksnap.image.SnapshotImage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Upstream's image write test (6000-snapimage_write) on XFS: the image carries the device's
 * file system UUID, so it mounts with nouuid next to the original; image and device are
 * written at the same time, both checked, the image remounted and checked again; twice.
 */
class XfsImageScenarioTest {
    private static final long MIB = 1 << 20;

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void xfsImageMountedWithNouuid() throws Exception {
        try (Rig rig = new Rig(16384)) {
            // mkfs.xfs refuses file systems below 300 MB; the file is sparse.
            rig.attach("d1", 320);
            String l1 = rig.loop("d1");
            rig.mkfs("xfs", l1);
            Path m1 = rig.mount(l1, "d1");
            List<String> original = new ArrayList<>(FileSet.small(m1, "original-it0", 5, 1));
            for (int it = 1; it <= 2; it++) {
                UUID id = rig.engine.create(rig.dir, 256 * MIB, List.of("d1"));
                rig.engine.take(id);
                String li = rig.loop(SnapshotImage.name("d1", id));
                Path mi = rig.mount(li, "image" + it, "nouuid");
                List<String> atTake = List.copyOf(original);

                int seed = it;
                CompletableFuture<List<String>> onImage = CompletableFuture.supplyAsync(() -> {
                    try {
                        return FileSet.mebibytes(mi, "image-it" + seed, 10, 100 + seed);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                original.addAll(FileSet.mebibytes(m1, "original-it" + it, 10, 200 + it));
                List<String> image = onImage.get();

                assertEquals(FileSet.union(original), FileSet.check(m1));
                assertEquals(FileSet.union(atTake, image), FileSet.check(mi));
                rig.remount(li, mi, "nouuid");
                assertEquals(FileSet.union(atTake, image), FileSet.check(mi), "after the image's remount");
                assertEquals(FileSet.union(original), FileSet.check(m1));
                rig.umount(mi);
                rig.engine.destroy(id);
            }
            rig.remount(l1, m1);
            assertEquals(FileSet.union(original), FileSet.check(m1));
            rig.umount(m1);
            rig.fsck("xfs", l1);
        }
    }
}
