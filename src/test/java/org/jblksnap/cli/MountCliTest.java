package org.jblksnap.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jblksnap.daemon.JblksnapProcess;
import org.jblksnap.device.BlockSysfs;
import org.jblksnap.device.MountTable;
import org.jblksnap.fuse.ReadOnlyMount;
import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.S3Gateway;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `jblksnap mount` and `umount` through the real command: a point of a disk with a partition
 * table (or a bare file system) shows every file as it was written before the backup, reads
 * only what is looked at from the repository, and umount leaves nothing behind, also after
 * the mounting process was killed.
 */
@Timeout(900)
class MountCliTest {
    @TempDir
    Path dir;
    JblksnapProcess jb;
    /** A directory, or a bucket of the test gateway ({@link S3Gateway}). */
    String repo;
    Path target;
    Process mount;

    @BeforeEach
    void setUp() throws Exception {
        ChildProcess.assumeInstalled("parted", "mkfs.xfs", "mkfs.ext4", "blkid", "losetup");
        jb = new JblksnapProcess(dir.resolve("run"));
        repo = dir.resolve("repo").toString();
        target = Files.createDirectory(dir.resolve("point"));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (mount != null && mount.isAlive()) {
            jb.runAlone("umount", target.toString());
            ChildProcess.kill(mount);
        }
        jb.close();
    }

    /** Backs the disk up through the daemon, and stops the daemon; returns the point's number. */
    private String backUp(PointDisk disk) throws Exception {
        jb.startDaemon("--device", "disk0=" + disk.image);
        String point = jb.ok("backup", "--encryption", "none", "-d", "disk0", "--repo", repo, "--storage", dir.toString())
                .get("point");
        jb.stopDaemon();
        return point;
    }

    private Process startMount(Path at, String point) throws Exception {
        Path log = dir.resolve("mount-" + System.nanoTime() + ".log");
        Process p = jb.start(log, "mount", "--repo", repo, "--point", point, "-d", "disk0", at.toString());
        Path stats = ReadOnlyMount.stateDir(at).resolve("stats");
        Await.until(Duration.ofSeconds(120), () -> {
            if (!p.isAlive()) {
                throw new AssertionError("mount exited with " + p.exitValue() + ": " + Files.readString(log));
            }
            // The result line first: after a killed mount the old stats file is still there until
            // this process has cleaned up, and reading then would go through the dead mount.
            return Files.exists(log) && Files.readString(log).lines().anyMatch(l -> l.startsWith("dir="))
                    && Files.exists(stats);
        }, () -> "mount did not come up: " + (Files.exists(log) ? Files.readString(log) : ""));
        return p;
    }

    private long fetched() throws Exception {
        for (String line : Files.readAllLines(ReadOnlyMount.stateDir(target).resolve("stats"))) {
            if (line.startsWith("fetched_bytes=")) {
                return Long.parseLong(line.substring("fetched_bytes=".length()));
            }
        }
        throw new AssertionError("no fetched_bytes in the stats");
    }

    /** Waits until the stats show at least min bytes and stay put for two periods of the ticker. */
    private long fetchedAtLeast(long min) throws Exception {
        Await.until(Duration.ofSeconds(60), () -> fetched() >= min, () -> "fetched only " + fetched() + " < " + min);
        long before;
        long now = fetched();
        do {
            before = now;
            Thread.sleep(2500);
            now = fetched();
        } while (now != before);
        return now;
    }

    private static void assertFiles(Path root, Map<String, byte[]> files) throws Exception {
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            assertArrayEquals(f.getValue(), Files.readAllBytes(root.resolve(f.getKey())), root + "/" + f.getKey());
        }
    }

    /** Nothing left: no mount at or under the target, no state, no loop device over our file. */
    private void assertNothingLeft() throws Exception {
        String prefix = target.toString();
        assertTrue(MountTable.mounts().stream().noneMatch(m -> m.mountPoint().toString().startsWith(prefix)),
                "nothing is mounted under " + target);
        assertFalse(Files.exists(ReadOnlyMount.stateDir(target)), "the state directory is gone");
        String state = ReadOnlyMount.stateDir(target).toString();
        assertTrue(BlockSysfs.loopDevices().values().stream().noneMatch(f -> f.startsWith(state)),
                "no loop device over the point's file: " + BlockSysfs.loopDevices());
        try (Stream<Path> s = Files.list(target)) {
            assertEquals(0, s.count(), target + " is empty again");
        }
    }

    @Test
    void gptWithExt4AndXfsShowsEveryFileAndReadsOnlyWhatIsLookedAt() throws Exception {
        PointDisk disk = PointDisk.make(dir.resolve("disk0.img"), "gpt",
                List.of(new PointDisk.Part("ext4", 64), new PointDisk.Part("xfs", 300)), 1);
        String point = backUp(disk);
        mount = startMount(target, point);
        long size = Files.size(disk.image);
        long atMount = fetchedAtLeast(1);
        long files = 0;
        try (Stream<Path> s = Files.walk(target)) {
            files = s.filter(Files::isRegularFile).count();
        }
        assertEquals(disk.files.get(1).size() + disk.files.get(2).size(), files, "every file is listed");
        long listed = fetchedAtLeast(atMount);
        byte[] big = disk.files.get(2).get("big.bin");
        byte[] copied;
        try (InputStream in = Files.newInputStream(target.resolve("p2/big.bin"))) {
            copied = in.readAllBytes();
        }
        assertArrayEquals(big, copied);
        long afterCopy = fetchedAtLeast(listed + big.length);
        System.out.printf("mount-figures: point_size=%d at_mount=%d list_all=%d copy_8MiB_file=%d%n", size, atMount,
                listed - atMount, afterCopy - listed);
        assertTrue(listed < size / 20, "mounting and listing read " + listed + " of " + size);
        assertTrue(afterCopy - listed < big.length + (2 << 20), "copying 8 MiB fetched " + (afterCopy - listed));

        assertFiles(target.resolve("p1"), disk.files.get(1));
        assertFiles(target.resolve("p2"), disk.files.get(2));
        assertEquals("ext4", MountTable.typeAt(target.resolve("p1")).orElseThrow());
        assertEquals("xfs", MountTable.typeAt(target.resolve("p2")).orElseThrow());
        assertNotEquals(0, ChildProcess.of("touch", target.resolve("p1/new").toString()).run().exit(), "read-only");

        ChildProcess.Result r = jb.okAlone("umount", target.toString());
        assertEquals(target.toString(), r.get("unmounted"));
        assertTrue(mount.waitFor(60, TimeUnit.SECONDS), "the mounting process ends at umount");
        assertNothingLeft();
    }

    @Test
    void aBareFileSystemMountsAtTheDirectoryAndUmountCleansUpAfterAKill() throws Exception {
        PointDisk disk = PointDisk.make(dir.resolve("disk0.img"), null, List.of(new PointDisk.Part("ext4", 48)), 2);
        String point = backUp(disk);
        mount = startMount(target, "latest");
        assertFiles(target, disk.files.get(0));
        ChildProcess.kill(mount);
        assertTrue(MountTable.typeAt(target).isPresent(), "a killed mount leaves its file system mounted");

        jb.okAlone("umount", target.toString());
        assertNothingLeft();
        mount = startMount(target, point);
        assertFiles(target, disk.files.get(0));
        ChildProcess.kill(mount);
        // Nothing of the killed mount's files stays cached: a read that went through the dead
        // mount instead of the new one fails instead of passing by luck.
        Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
        mount = startMount(target, point);
        assertFiles(target, disk.files.get(0));
        jb.okAlone("umount", target.toString());
        assertNothingLeft();
    }

    @Test
    void aPointInAnS3BucketMountsAndReadsOnDemandToo() throws Exception {
        try (S3Gateway gw = S3Gateway.require()) {
            repo = gw.newRepo();
            PointDisk disk = PointDisk.make(dir.resolve("disk0.img"), null, List.of(new PointDisk.Part("ext4", 48)), 3);
            backUp(disk);
            mount = startMount(target, "latest");
            assertFiles(target, disk.files.get(0));
            assertTrue(fetchedAtLeast(1) < Files.size(disk.image), "only what was looked at came from the bucket");
            jb.okAlone("umount", target.toString());
            assertNothingLeft();
        }
    }

    @Test
    void badInputGetsAClearErrorAndLeavesNothingMounted() throws Exception {
        PointDisk disk = PointDisk.make(dir.resolve("disk0.img"), "msdos",
                List.of(new PointDisk.Part("ext4", 32), new PointDisk.Part("ext4", 32)), 3);
        String point = backUp(disk);
        ChildProcess.Result noPoint = jb.runAlone("mount", "--repo", repo, "--point", "7", target.toString());
        assertNotEquals(0, noPoint.exit());
        assertTrue(noPoint.err().contains("no point 7"), noPoint.err());
        assertNothingLeft();

        Files.writeString(target.resolve("x"), "x");
        ChildProcess.Result notEmpty = jb.runAlone("mount", "--repo", repo, "--point", point, target.toString());
        assertTrue(notEmpty.err().contains("is not empty"), notEmpty.err());
        Files.delete(target.resolve("x"));
        assertNothingLeft();

        ChildProcess.Result none = jb.runAlone("umount", target.toString());
        assertNotEquals(0, none.exit());
        assertTrue(none.err().contains("nothing was mounted"), none.err());

        mount = startMount(target, point);
        assertFiles(target.resolve("p1"), disk.files.get(1));
        assertFiles(target.resolve("p2"), disk.files.get(2));
        ChildProcess.Result again = jb.runAlone("mount", "--repo", repo, "--point", point, target.toString());
        assertNotEquals(0, again.exit());
        assertTrue(again.err().contains("already mounted"), again.err());

        try (InputStream open = Files.newInputStream(target.resolve("p1/big.bin"))) {
            ChildProcess.Result busy = jb.runAlone("umount", target.toString());
            assertNotEquals(0, busy.exit());
            assertTrue(busy.err().contains("busy"), busy.err());
            assertTrue(mount.isAlive(), "a busy umount stops nothing");
            assertEquals(1, open.read() >= 0 ? 1 : 0);
        }
        jb.okAlone("umount", target.toString());
        assertTrue(mount.waitFor(60, TimeUnit.SECONDS));
        assertNothingLeft();
    }
}
