package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;

import org.jblksnap.error.Errno;
import org.jblksnap.error.NoSuchSnapshotException;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.snapshot.SnapshotEvent;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Upstream's stretch and overflow tests (2000-stretch, 2100-overflow): the difference storage
 * grows while the device is written, then reaches its limit: a no_space event, then the
 * overflow makes the snapshot corrupted (a corrupted event with ENOSPC, image reads fail with
 * EIO), while the device goes on and loses nothing.
 */
class OverflowScenarioTest {
    private static final long MIB = 1 << 20;
    private static final long STEP_SECTORS = 16384;
    private static final long LIMIT = 40 * MIB;

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void growthThenOverflowLeavesTheDeviceIntact() throws Exception {
        try (Rig rig = new Rig(STEP_SECTORS)) {
            rig.attach("d1", 256);
            String l1 = rig.loop("d1");
            rig.mkfs("ext4", l1);
            Path m1 = rig.mount(l1, "d1");
            List<String> before = FileSet.small(m1, "before", 5, 1);

            UUID id = rig.engine.create(rig.dir, LIMIT, List.of("d1"));
            List<String> tracked = FileSet.small(m1, "tracked", 5, 2);
            List<SnapshotEvent> events = Collections.synchronizedList(new ArrayList<>());
            Thread watcher = Thread.ofPlatform().name("watcher").start(() -> watch(rig, id, events));
            try {
                rig.engine.take(id);
                long firstSize = rig.engine.snapshot(id).storage().size();

                List<String> after = FileSet.mebibytes(m1, "after", 16, 3);
                assertEquals(FileSet.union(before, tracked, after), FileSet.check(m1));
                long grown = rig.engine.snapshot(id).storage().size();
                assertTrue(grown > firstSize, "the storage grew from " + firstSize + " to " + grown);
                assertTrue(grown <= LIMIT);
                assertEquals(0, rig.engine.snapshot(id).errorCode("d1"));
                assertEquals(List.of(), List.copyOf(events), "no event while below the limit");

                String image = SnapshotImage.name("d1", id);
                String li = rig.loop(image);
                Path mi = rig.mount(li, "image");
                assertEquals(FileSet.union(before, tracked), FileSet.check(mi), "the image before the overflow");

                List<String> overflow = FileSet.mebibytes(m1, "overflow", 64, 4);
                assertEquals(-Errno.ENOSPC.code(), rig.engine.snapshot(id).errorCode("d1"), "overflow corrupts the snapshot");
                assertEquals(LIMIT, rig.engine.snapshot(id).storage().size(), "the storage stopped at its limit");
                try (FileChannel ch = FileChannel.open(rig.exports.file(image), StandardOpenOption.READ)) {
                    IOException eio = assertThrows(IOException.class, () -> ch.read(ByteBuffer.allocate(4096), 0));
                    assertTrue(eio.getMessage().contains("Input/output error"), eio.getMessage());
                }
                rig.umount(mi);
                rig.engine.destroy(id);
                watcher.join(10_000);

                List<SnapshotEvent> seen = List.copyOf(events);
                assertTrue(seen.size() >= 2, "events: " + seen);
                assertInstanceOf(SnapshotEvent.NoSpace.class, seen.get(0), "first the storage runs low: " + seen);
                assertEquals(LIMIT >> 9, ((SnapshotEvent.NoSpace) seen.get(0)).requestedSectors(),
                        "no_space carries the total size requested, as upstream's requested_nr_sect");
                SnapshotEvent.Corrupted corrupted = assertInstanceOf(SnapshotEvent.Corrupted.class, seen.get(seen.size() - 1),
                        "then it overflows: " + seen);
                assertEquals("d1", corrupted.device());
                assertEquals(Errno.ENOSPC, corrupted.errno());
                for (int i = 1; i < seen.size() - 1; i++) {
                    assertInstanceOf(SnapshotEvent.NoSpace.class, seen.get(i), "only no_space before corrupted: " + seen);
                }

                rig.remount(l1, m1);
                assertEquals(FileSet.union(before, tracked, after, overflow), FileSet.check(m1), "the device lost nothing");
                rig.umount(m1);
                rig.fsck("ext4", l1);
            } finally {
                watcher.interrupt();
                watcher.join(10_000);
            }
        }
    }

    /** snapshot_watcher: every event until the snapshot is gone. */
    private static void watch(Rig rig, UUID id, List<SnapshotEvent> events) {
        try {
            while (true) {
                rig.engine.waitEvent(id, 100).ifPresent(events::add);
            }
        } catch (NoSuchSnapshotException | InterruptedException e) {
            // destroyed, or the test is over
        }
    }
}
