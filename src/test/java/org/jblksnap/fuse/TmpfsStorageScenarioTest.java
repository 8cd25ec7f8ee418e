package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import org.jblksnap.diff.DiffStorage;
import org.jblksnap.error.Errno;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.snapshot.SnapshotEvent;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Upstream's 1200-tmpfs_diff_storage: the difference storage is a file on a 128 MiB tmpfs,
 * fallocated to 32 MiB, with a 2 GiB limit far above what the tmpfs holds. The snapshot works as
 * usual; then, written past what the tmpfs holds, the storage reports no_space with the total it
 * asked for, overflows, and the device loses nothing.
 */
class TmpfsStorageScenarioTest {
    private static final long MIB = 1 << 20;

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void aStorageOnATmpfsSmallerThanItsLimit() throws Exception {
        try (Rig rig = new Rig(16384)) {
            rig.attach("d1", 256);
            String l1 = rig.loop("d1");
            rig.mkfs("ext4", l1);
            Path m1 = rig.mount(l1, "d1");
            List<String> before = FileSet.small(m1, "before", 9, 1);
            Path shm = rig.tmpfs("shm", 128);
            Path storage = shm.resolve("diff_storage");
            SystemTools.check("fallocate", "--length", "32MiB", storage.toString());

            UUID id = rig.engine.create(storage, 2048 * MIB, List.of("d1"));
            rig.engine.take(id);
            List<SnapshotEvent> events = new CopyOnWriteArrayList<>();
            Thread watcher = Thread.ofVirtual().start(() -> {
                try {
                    while (true) {
                        rig.engine.waitEvent(id, 1000).ifPresent(events::add);
                    }
                } catch (RuntimeException | InterruptedException e) {
                    // the snapshot is gone, or the test ends
                }
            });
            try {
                List<String> after = FileSet.small(m1, "after", 3, 2);
                assertEquals(FileSet.union(before, after), FileSet.check(m1));
                String li = rig.loop(SnapshotImage.name("d1", id));
                Path mi = rig.mount(li, "image");
                assertEquals(FileSet.union(before), FileSet.check(mi), "the image at take");
                List<String> written = FileSet.small(mi, "snapshot", 3, 3);
                rig.remount(li, mi);
                assertEquals(FileSet.union(before, written), FileSet.check(mi), "image writes survive a remount");
                rig.umount(mi);
                assertEquals(DiffStorage.Kind.FILE, rig.engine.snapshot(id).storage().kind());
                assertEquals(List.of(), List.copyOf(events));

                // Past what the tmpfs holds: its full file system stops the growth.
                List<String> flood = FileSet.mebibytes(m1, "flood", 160, 4);
                long size = rig.engine.snapshot(id).storage().size();
                assertTrue(size <= 128 * MIB, "the storage grew no further than the tmpfs: " + size);
                assertEquals(-Errno.ENOSPC.code(), rig.engine.snapshot(id).errorCode("d1"), "then it overflowed");
                rig.engine.destroy(id);
                watcher.join(5000);
                SnapshotEvent.NoSpace noSpace = assertInstanceOf(SnapshotEvent.NoSpace.class, events.getFirst(), events.toString());
                long requested = noSpace.requestedSectors() * 512;
                assertTrue(requested > size && requested <= size + 8 * MIB,
                        "no_space asks for the total that did not fit: " + requested + " against " + size);
                assertInstanceOf(SnapshotEvent.Corrupted.class, events.getLast(), events.toString());

                rig.remount(l1, m1);
                assertEquals(FileSet.union(before, after, flood), FileSet.check(m1), "the device lost nothing");
                rig.umount(m1);
                rig.fsck("ext4", l1);
            } finally {
                watcher.interrupt();
            }
        }
    }
}
