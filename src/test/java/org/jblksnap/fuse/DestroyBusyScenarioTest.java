package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.jblksnap.image.SnapshotImage;
import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Upstream's destroy test (7000-destroy): the snapshot is destroyed while files are written to
 * the device and to the mounted image and while the image is read (dd on its loop device, and
 * its FUSE file). Destroy returns, nothing hangs, the image and its loop device go, writers on
 * the device lose nothing.
 */
class DestroyBusyScenarioTest {
    private static final long MIB = 1 << 20;

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void destroyWhileWritersAndReadersAreBusy() throws Exception {
        try (Rig rig = new Rig(16384)) {
            rig.attach("d1", 128);
            String l1 = rig.loop("d1");
            rig.mkfs("ext4", l1);
            Path m1 = rig.mount(l1, "d1");
            List<String> before = FileSet.small(m1, "before", 9, 1);
            UUID id = rig.engine.create(rig.file("diff_storage", 0), 128 * MIB, List.of("d1"));
            rig.engine.take(id);
            String name = SnapshotImage.name("d1", id);
            String li = rig.loop(name);
            Path mi = rig.mount(li, "image");
            assertEquals(FileSet.union(before), FileSet.check(mi));

            AtomicBoolean stop = new AtomicBoolean();
            List<String> after = new CopyOnWriteArrayList<>();
            AtomicReference<Throwable> deviceFailure = new AtomicReference<>();
            AtomicInteger imageFailures = new AtomicInteger();
            Set<String> loaded = ConcurrentHashMap.newKeySet(); // the busy threads that did a round of I/O
            List<Thread> busy = new ArrayList<>();
            busy.add(Thread.ofPlatform().name("device-writer").start(() -> {
                try {
                    for (int i = 0; !stop.get() && i < 200; i++) {
                        after.addAll(FileSet.small(m1, "after" + i, 2, 100 + i));
                        loaded.add("device-writer");
                    }
                } catch (Throwable t) {
                    deviceFailure.set(t);
                }
            }));
            busy.add(Thread.ofPlatform().name("image-writer").start(() -> {
                try {
                    for (int i = 0; !stop.get() && i < 200; i++) {
                        FileSet.small(mi, "snapshot" + i, 2, 500 + i);
                        loaded.add("image-writer");
                    }
                } catch (Throwable t) {
                    imageFailures.incrementAndGet();
                }
            }));
            busy.add(Thread.ofPlatform().name("dd-reader").start(() -> {
                try {
                    while (!stop.get()) {
                        if (!ChildProcess.of("dd", "if=" + li, "of=/dev/null", "bs=1M", "iflag=direct", "status=none").run().ok()) {
                            imageFailures.incrementAndGet();
                        }
                        loaded.add("dd-reader");
                    }
                } catch (Exception e) {
                    imageFailures.incrementAndGet();
                }
            }));
            busy.add(Thread.ofPlatform().name("fuse-reader").start(() -> {
                ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
                try (FileChannel ch = FileChannel.open(rig.exports.file(name), StandardOpenOption.READ)) {
                    for (long pos = 0; !stop.get(); pos = (pos + b.capacity()) % (128 * MIB)) {
                        ch.read(b.clear(), pos);
                        loaded.add("fuse-reader");
                    }
                } catch (Exception e) {
                    imageFailures.incrementAndGet();
                }
            }));
            Await.until(Duration.ofSeconds(60), () -> loaded.size() == busy.size(),
                    () -> "every busy thread did a round of I/O before destroy; did: " + loaded
                            + ", device writer failure: " + deviceFailure.get() + ", image failures: " + imageFailures);

            CompletableFuture.runAsync(() -> {
                try {
                    rig.engine.destroy(id);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }).get(60, TimeUnit.SECONDS);
            assertFalse(Files.exists(rig.exports.file(name)), "the image's file went at destroy");
            rig.lazyUmount(mi);
            Await.until(Duration.ofSeconds(30), () -> imageFailures.get() > 0, () -> "image I/O after destroy fails");
            stop.set(true);
            for (Thread t : busy) {
                t.join(60_000);
                assertFalse(t.isAlive(), t.getName() + " hangs");
            }
            assertNull(deviceFailure.get(), () -> "a device writer failed: " + deviceFailure.get());
            Await.until(Duration.ofSeconds(30), () -> LoopSysfs.backingFile(li) == null,
                    () -> "the image's loop device is released after its last user");

            rig.remount(l1, m1);
            assertEquals(FileSet.union(before, after), FileSet.check(m1), "the device lost nothing");
            rig.umount(m1);
            rig.fsck("ext4", l1);
        }
    }
}
