package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.jblksnap.image.SnapshotImage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Freeze at take, as blksnap freezes each device's file system: ext4 on a device's loop device,
 * written and fsync'ed without a pause, is taken frozen, so its image needs no journal replay
 * (dumpe2fs shows no needs_recovery, which a mounted ext4 always has) and mounts read-only as
 * it is.
 */
class FreezeAtTakeScenarioTest {
    private static final long MIB = 1 << 20;

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void ext4UnderAnFsyncingWriterIsCleanInTheImage() throws Exception {
        try (Rig rig = new Rig(65536)) {
            rig.attach("d1", 128);
            String l1 = rig.loop("d1");
            rig.mkfs("ext4", l1);
            Path m1 = rig.mount(l1, "d1");
            assertTrue(features(l1).contains("needs_recovery"), "a mounted ext4 needs recovery on its device");

            Path log = m1.resolve("log");
            AtomicLong records = new AtomicLong();
            AtomicReference<Exception> failed = new AtomicReference<>();
            Thread writer = Thread.ofPlatform().name("fsync-writer").start(() -> {
                ByteBuffer record = ByteBuffer.allocate(4096);
                try (FileChannel ch = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.APPEND)) {
                    while (!Thread.currentThread().isInterrupted()) {
                        record.clear();
                        record.putLong(0, records.get());
                        ch.write(record);
                        ch.force(true);
                        records.incrementAndGet();
                    }
                } catch (Exception e) {
                    if (!Thread.currentThread().isInterrupted()) {
                        failed.set(e);
                    }
                }
            });
            try {
                while (records.get() < 50 && failed.get() == null) {
                    Thread.sleep(10);
                }
                UUID id = rig.engine.create(rig.dir, 64 * MIB, List.of("d1"));
                rig.engine.take(id);
                long atLeast = records.get();
                while (records.get() < atLeast + 50 && failed.get() == null) {
                    Thread.sleep(10);
                }
            } finally {
                writer.interrupt();
                writer.join(10_000);
            }
            assertEquals(null, failed.get(), "the writer went on through the take");

            String image = SnapshotImage.name("d1", rig.engine.collect().getFirst());
            String li = rig.loop(image);
            assertFalse(features(li).contains("needs_recovery"), "the image of a frozen ext4 needs no journal replay");
            Path mi = rig.mount(li, "image", "ro"); // no noload: nothing to replay
            long kept = Files.size(mi.resolve("log"));
            assertTrue(kept > 0 && kept % 4096 == 0, "the image holds whole records: " + kept);
            try (FileChannel ch = FileChannel.open(mi.resolve("log"), StandardOpenOption.READ)) {
                ByteBuffer b = ByteBuffer.allocate(8);
                for (long r = 0; r < kept / 4096; r++) {
                    b.clear();
                    ch.read(b, r * 4096);
                    assertEquals(r, b.getLong(0), "record " + r + " in order, as fsync'ed");
                }
            }
            rig.umount(mi);
            rig.fsck("ext4", li);
        }
    }

    private static String features(String device) throws Exception {
        return SystemTools.check("dumpe2fs", "-h", device).out().lines()
                .filter(l -> l.startsWith("Filesystem features:")).findFirst().orElseThrow();
    }
}
