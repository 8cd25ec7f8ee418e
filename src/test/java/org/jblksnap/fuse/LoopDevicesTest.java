package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.sun.nio.file.ExtendedOpenOption;
import org.jblksnap.device.MountTable;
import org.jblksnap.error.NoSuchDeviceException;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Loop devices over the FUSE files: set up, recorded, taken down with their export, cleaned after a crash. */
class LoopDevicesTest {
    private static final long MIB = 1 << 20;

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void aLoopDeviceReadsAndWritesTheTrackedDevice() throws Exception {
        try (Rig rig = new Rig(16384)) {
            Tracker t = rig.attach("d0", 16);
            String dev = rig.loop("d0");
            assertTrue(dev.matches("/dev/loop\\d+"), dev);
            assertEquals(dev, rig.loop("d0"), "attaching again gives the same device");
            LoopDevices.Loop loop = rig.exports.loops().of("d0");
            assertEquals(rig.exports.file("d0"), loop.file());
            assertEquals(loop.directIo(), LoopSysfs.directIo(dev));
            assertTrue(loop.directIo(), "the kernel takes direct I/O on a FUSE file");
            assertEquals(16 * MIB, Long.parseLong(ChildProcess.of("blockdev", "--getsize64", dev).check().out().strip()));

            ByteBuffer pattern = ByteBuffer.allocateDirect((int) MIB + 4096).alignedSlice(4096).limit((int) MIB);
            SectorPattern.fill(pattern, 2048, 2048, 1, 1);
            try (FileChannel ch = FileChannel.open(Path.of(dev), StandardOpenOption.WRITE, StandardOpenOption.READ,
                    ExtendedOpenOption.DIRECT)) {
                assertEquals(MIB, ch.write(pattern, MIB));
            }
            ByteBuffer onDevice = ByteBuffer.allocate((int) MIB);
            t.read(MIB, onDevice);
            for (int i = 0; i < 2048; i++) {
                SectorPattern.expect(onDevice, i, 2048 + i, 1, 1);
            }
            byte[] writable = t.cbt().state().writable();
            assertEquals(1, writable[(int) (MIB >> t.cbt().blockShift())], "the write went through the tracker's CBT");
            assertEquals(0, writable[0]);

            rig.exports.loops().detach("d0");
            assertNull(LoopSysfs.backingFile(dev), "detached");
            assertNull(rig.exports.loops().of("d0"));
            assertThrows(NoSuchDeviceException.class, () -> rig.exports.loops().detach("d0"));
            assertThrows(NoSuchDeviceException.class, () -> rig.exports.loops().attach("nothing"));
        }
    }

    @Test
    void loopDevicesGoWithTheirExports() throws Exception {
        List<String> devices = new ArrayList<>();
        try (Rig rig = new Rig(16384)) {
            rig.attach("d0", 8);
            rig.attach("d1", 8);
            rig.attach("d2", 8);
            UUID id = rig.engine.create(rig.dir, 64 * MIB, List.of("d0"));
            rig.engine.take(id);
            String image = SnapshotImage.name("d0", id);
            String imageDev = rig.loop(image);
            String d1 = rig.loop("d1");
            String d2 = rig.loop("d2");
            devices.addAll(List.of(imageDev, d1, d2));
            assertEquals(rig.exports.file(image).toString(), LoopSysfs.backingFile(imageDev));

            rig.engine.destroy(id);
            rig.exports.loops().settle();
            assertNull(LoopSysfs.backingFile(imageDev), "destroy took the image's loop device down");
            rig.engine.detach("d1");
            rig.exports.loops().settle();
            assertNull(LoopSysfs.backingFile(d1), "detach took the device's loop device down");
            assertEquals(rig.exports.file("d2").toString(), LoopSysfs.backingFile(d2));
        }
        for (String d : devices) {
            assertNull(LoopSysfs.backingFile(d), d + " is gone after close");
        }
    }

    /** A host killed with its mount and a loop device up leaves both; the next start cleans them. */
    @Test
    void aCrashedHostIsCleanedUp() throws Exception {
        Path dir = Files.createTempDirectory("jblksnap-crash-");
        Path mnt = dir.resolve("exports");
        Path disk = dir.resolve("disk.img");
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), 8 * MIB - 1);
        }
        Path log = dir.resolve("host.log");
        Process host = ChildProcess.java(FuseHost.class, "--dir", mnt.toString(), "--device", "d0=" + disk, "--loop", "d0")
                .start(log);
        String loop = null;
        try {
            loop = awaitLoop(host, log);
            host.destroyForcibly();
            assertTrue(host.waitFor(30, TimeUnit.SECONDS));
            assertEquals(mnt.resolve("d0").toString(), LoopSysfs.backingFile(loop), "the loop device outlives the host");
            assertTrue(MountTable.typeAt(mnt).isPresent(), "the mount outlives the host");
            assertFalse(StaleMounts.served(mnt));

            LoopDevices.Cleanup c = LoopDevices.cleanupStale(mnt);
            assertEquals(List.of(loop), c.detachedLoops());
            assertTrue(c.unmounted());
            assertNull(LoopSysfs.backingFile(loop));
            assertTrue(MountTable.typeAt(mnt).isEmpty());
            LoopDevices.Cleanup again = LoopDevices.cleanupStale(mnt);
            assertEquals(new LoopDevices.Cleanup(List.of(), false), again, "nothing left the second time");
        } finally {
            host.destroyForcibly();
            if (loop != null && mnt.resolve("d0").toString().equals(LoopSysfs.backingFile(loop))) {
                ChildProcess.of("losetup", "-d", loop).run();
            }
            if (MountTable.typeAt(mnt).isPresent()) {
                ChildProcess.of("umount", "-l", mnt.toString()).run();
            }
            Files.deleteIfExists(disk);
            Files.deleteIfExists(log);
            Files.deleteIfExists(mnt);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * The cleanup after a crash detaches only loop devices the daemon recorded: another loop
     * device over a file under the same directory (--fuse-dir /var/lib, say) is left alone.
     */
    @Test
    void aLoopDeviceNobodyRecordedIsLeftAlone() throws Exception {
        Path dir = Files.createTempDirectory("jblksnap-foreign-");
        Path foreign = dir.resolve("someone-elses.img");
        try (FileChannel ch = FileChannel.open(foreign, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), 8 * MIB - 1);
        }
        String loop = ChildProcess.of("losetup", "--find", "--show", foreign.toString()).check().out().strip();
        try {
            LoopDevices.Cleanup c = LoopDevices.cleanupStale(dir);
            assertEquals(new LoopDevices.Cleanup(List.of(), false), c);
            assertEquals(foreign.toString(), LoopSysfs.backingFile(loop), "the foreign loop device is still there");
        } finally {
            ChildProcess.of("losetup", "-d", loop).run();
            Files.deleteIfExists(foreign);
            Files.deleteIfExists(dir);
        }
    }

    /** A loop device still mounted at close: the FUSE connection is aborted instead of hanging. */
    @Test
    void closeWithAMountedLoopDeviceDoesNotHang() throws Exception {
        try (Rig rig = new Rig(16384)) {
            rig.attach("d1", 64);
            String l1 = rig.loop("d1");
            rig.mkfs("ext4", l1);
            Path m1 = rig.mount(l1, "d1");
            long start = System.nanoTime();
            rig.exports.close();
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
            assertTrue(seconds < 9, "close took " + seconds + " s");
            assertTrue(MountTable.typeAt(rig.exports.mountDir()).isEmpty(), "the FUSE mount is gone");
            ChildProcess.of("umount", m1.toString()).run();
            Await.until(Duration.ofSeconds(20), () -> LoopSysfs.backingFile(l1) == null,
                    () -> "the loop device goes once its file system is unmounted");
        }
    }

    @Test
    void aLiveMountIsNotTakenOver() throws Exception {
        try (Rig rig = new Rig(16384)) {
            rig.attach("d1", 8);
            String loop = rig.loop("d1");
            Exception e = assertThrows(Exception.class, () -> new FuseExports(rig.engine, rig.exports.mountDir()));
            assertTrue(e.getMessage().contains("running process"), e.getMessage());
            assertTrue(StaleMounts.served(rig.exports.mountDir()));
            assertEquals(rig.exports.file("d1").toString(), LoopSysfs.backingFile(loop), "its loop devices are left alone");
        }
    }

    /** Waits for the host's "ready" line and returns the loop device it printed for d0. */
    private static String awaitLoop(Process host, Path log) throws Exception {
        Await.until(Duration.ofSeconds(60), () -> {
            if (!host.isAlive()) {
                throw new AssertionError("the host ended before it was ready:\n" + Files.readString(log));
            }
            return Files.readString(log).lines().anyMatch("ready"::equals);
        }, () -> "the host is not ready:\n" + Files.readString(log));
        return Files.readString(log).lines().filter(l -> l.startsWith("loop d0=")).map(l -> l.substring("loop d0=".length()))
                .reduce((first, last) -> last).orElse(null);
    }
}
