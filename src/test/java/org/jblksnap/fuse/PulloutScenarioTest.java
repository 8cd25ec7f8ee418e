package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import org.jblksnap.error.BlksnapException;
import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Upstream's 5000-pullout: two devices in one snapshot, collected, checked, destroyed; then the
 * block device is pulled out from under the tracker. jblksnap holds a tracked block device open
 * (exclusively), so the kernel will not let it go: a zram device cannot be removed (EBUSY), a
 * loop device detached with losetup -d stays until jblksnap lets go of it, and it keeps serving
 * meanwhile. Nothing hangs, and detach lets the device go.
 */
class PulloutScenarioTest {
    private static final long MIB = 1 << 20;
    private static final Path ZRAM_CONTROL = Path.of("/sys/class/zram-control");

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void aTrackedBlockDeviceCannotBePulledOutFromUnderTheTracker() throws Exception {
        try (Rig rig = new Rig(65536)) {
            String loop = rig.plainLoop(rig.file("loop.img", 32));
            Tracker a = rig.engine.attach("a", Path.of(loop));
            Tracker b = rig.attach("b", 32);
            UUID id = rig.engine.create(rig.dir, 64 * MIB, List.of("a", "b"));
            rig.engine.take(id);
            assertEquals(List.of(id), rig.engine.collect());
            TestDevices.writePattern(a, 0, 128, 1, 1);
            assertArrayEquals(new byte[(int) (32 * MIB)], TestDevices.readAll(rig.engine.image("a")), "a at take");
            rig.engine.destroy(id);

            // losetup -d of a loop device jblksnap holds: the kernel waits for its last close.
            SystemTools.check("losetup", "-d", loop);
            TestDevices.writePattern(a, 2048, 128, 1, 2);
            a.flush();
            ByteBuffer back = ByteBuffer.allocate(128 * 512);
            a.read(2048L * 512, back);
            for (int i = 0; i < 128; i++) {
                SectorPattern.expect(back.clear(), i, 2048 + i, 1, 2);
            }
            rig.engine.detach("a");
            Await.until(Duration.ofSeconds(10), () -> LoopSysfs.backingFile(loop) == null,
                    () -> "the loop device going with jblksnap's last close");
            BlksnapException gone = assertThrows(BlksnapException.class, () -> rig.engine.attach("a", Path.of(loop)));
            assertTrue(gone.getMessage().contains("empty"), gone.getMessage());
            assertEquals(List.of("b"), rig.engine.trackers().stream().map(Tracker::name).toList());
            TestDevices.writePattern(b, 0, 8, 2, 1);

            // A zram device (upstream's pull-out) cannot be removed while tracked.
            assumeTrue(Files.exists(ZRAM_CONTROL.resolve("hot_add")), "no zram hot_add in this kernel");
            String n = Files.readString(ZRAM_CONTROL.resolve("hot_add")).strip();
            try {
                Files.writeString(Path.of("/sys/block/zram" + n + "/disksize"), String.valueOf(32 * MIB));
                Path zram = Path.of("/dev/zram" + n);
                rig.engine.attach("z", zram);
                IOException busy = assertThrows(IOException.class,
                        () -> Files.writeString(ZRAM_CONTROL.resolve("hot_remove"), n));
                assertTrue(busy.getMessage().contains("busy"), busy.getMessage());
                rig.engine.detach("z");
            } finally {
                Files.writeString(ZRAM_CONTROL.resolve("hot_remove"), n);
            }
        }
    }
}
