package org.jblksnap.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's local cycle through the real command: ext4 on a tracked device's FUSE file on
 * a loop device, a snapshot taken with the file system frozen, the image's loop device
 * mounted read-only and files copied out; everything taken down by unloop, destroy and stop.
 */
class LocalCycleCliTest {
    @TempDir
    Path dir;
    JblksnapProcess jb;
    final List<Path> mounts = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (Path m : mounts.reversed()) {
            ChildProcess.of("umount", "-l", m.toString()).run();
        }
        if (jb != null) {
            jb.close();
        }
    }

    private static void must(String... cmd) throws Exception {
        ChildProcess.of(cmd).check();
    }

    private Path mount(String device, Path at, String... options) throws Exception {
        Files.createDirectories(at);
        List<String> cmd = new ArrayList<>(List.of("mount"));
        cmd.addAll(List.of(options));
        cmd.addAll(List.of(device, at.toString()));
        must(cmd.toArray(String[]::new));
        mounts.add(at);
        return at;
    }

    @Test
    void ext4OnATrackedDeviceAndItsImageMountedReadOnly() throws Exception {
        assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse: the kernel has no FUSE");
        assumeTrue(Files.exists(Path.of("/dev/loop-control")), "no loop device driver");
        assumeTrue("root".equals(System.getProperty("user.name")), "loop devices and mounts need root");
        Path disk = dir.resolve("disk0.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(128 << 20);
        }
        jb = new JblksnapProcess(dir.resolve("run"));
        jb.startDaemon("--fuse-dir", dir.resolve("fuse").toString(), "--device", "disk0=" + disk,
                "--param", "chunk_minimum_shift=16");
        assertTrue(Files.size(dir.resolve("fuse/disk0")) == 128 << 20, "the device's FUSE file has its size");

        String loop = jb.ok("loop", "-d", "disk0").out().strip();
        assertTrue(loop.startsWith("/dev/loop"), loop);
        must("mkfs.ext4", "-q", loop);
        Path fs = mount(loop, dir.resolve("mnt"));
        Files.writeString(fs.resolve("before.txt"), "written before the snapshot\n".repeat(1000));
        must("sync");

        // markdirtyblock --file, as upstream's 3000-cbt uses it: the file's blocks on disk0.
        Path dirty = fs.resolve("dirty");
        must("fallocate", "--length", "1MiB", dirty.toString());
        ChildProcess.Result marked = jb.ok("markdirtyblock", "-f", dirty.toString());
        assertEquals("disk0", marked.get("device"));
        assertTrue(Integer.parseInt(marked.get("ranges")) >= 1, marked.out());

        String id = jb.ok("snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "256M").out().strip();
        // Frozen by the user already: the take's own freeze leaves it as it is.
        must("fsfreeze", "-f", fs.toString());
        try {
            jb.ok("snapshot_take", "-i", id);
        } finally {
            must("fsfreeze", "-u", fs.toString());
        }
        Files.writeString(fs.resolve("after.txt"), "written after the snapshot\n");
        Files.writeString(fs.resolve("before.txt"), "changed after the snapshot\n");
        must("sync");

        String imageLoop = jb.ok("loop", "-d", "disk0", "--image").out().strip();
        Path snap = mount(imageLoop, dir.resolve("snap"), "-o", "ro");
        assertEquals("written before the snapshot\n".repeat(1000), Files.readString(snap.resolve("before.txt")));
        assertFalse(Files.exists(snap.resolve("after.txt")));
        Path out = dir.resolve("copied.txt");
        Files.copy(snap.resolve("before.txt"), out);
        assertEquals(28000, Files.size(out));

        must("umount", snap.toString());
        mounts.remove(snap);
        jb.ok("unloop", "-d", "disk0", "--image");
        jb.ok("snapshot_destroy", "-i", id);
        assertFalse(Files.exists(dir.resolve("fuse/disk0@" + id)), "the image file goes with its snapshot");
        assertEquals("changed after the snapshot\n", Files.readString(fs.resolve("before.txt")));
        must("umount", fs.toString());
        mounts.remove(fs);
        jb.ok("unloop", "-d", "disk0");
        assertEquals(143, jb.stopDaemon(), "clean stop on SIGTERM");
        String loops = ChildProcess.of("losetup", "-a").run().out();
        assertFalse(loops.contains(dir.toString()), "no loop device left: " + loops);
        assertFalse(Files.readString(Path.of("/proc/mounts")).contains(dir.toString()), "no mount left");
    }
}
