package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole stack a local user builds: nbdfuse turns an export into a file, losetup with
 * direct I/O into /dev/loopN, mkfs.ext4 and mount put a file system on it; files written,
 * unmounted, mounted again and checked by md5.
 */
class NbdFuseLoopTest {
    private static final long SIZE = 128L << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void environment() {
        Tools.require("nbdfuse", "fusermount3", "losetup", "mkfs.ext4", "mount", "umount", "md5sum", "blockdev", "e2fsck");
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root for losetup and mount");
        assumeTrue(new File("/dev/fuse").exists(), "the kernel has no FUSE (/dev/fuse missing)");
        assumeTrue(new File("/dev/loop-control").exists(), "the kernel has no loop devices (/dev/loop-control missing)");
    }

    /** Mounts an export through nbdfuse and a loop device; undoes everything in close(). */
    private final class Stack implements AutoCloseable {
        final Path fuseDir = Files.createDirectory(dir.resolve("fuse-" + System.nanoTime()));
        final Path mnt = Files.createDirectory(dir.resolve("mnt-" + System.nanoTime()));
        final Process nbdfuse;
        String loop;
        boolean mounted;

        Stack(String uri) throws Exception {
            nbdfuse = new ProcessBuilder("nbdfuse", fuseDir.resolve("disk").toString(), uri)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("nbdfuse.log").toFile()).start();
            Path file = fuseDir.resolve("disk");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!(Files.exists(file) && Files.size(file) == SIZE)) {
                assertTrue(nbdfuse.isAlive(), "nbdfuse exited: " + Files.readString(dir.resolve("nbdfuse.log")));
                assertTrue(System.nanoTime() < deadline, "nbdfuse did not show the export");
                Thread.sleep(20);
            }
            loop = Tools.ok(dir, 60, "losetup", "--direct-io=on", "-f", "--show", file.toString()).strip();
            String dio = Tools.ok(dir, 60, "losetup", "-n", "-O", "DIO", loop).strip();
            assertEquals("1", dio, "loop device uses direct I/O");
        }

        void mount() throws Exception {
            Tools.ok(dir, 120, "mount", loop, mnt.toString());
            mounted = true;
        }

        void umount() throws Exception {
            Tools.ok(dir, 120, "umount", mnt.toString());
            mounted = false;
        }

        @Override
        public void close() throws Exception {
            if (mounted) {
                Tools.run(dir, 120, "umount", mnt.toString());
            }
            if (loop != null) {
                Tools.run(dir, 60, "losetup", "-d", loop);
            }
            Tools.run(dir, 60, "fusermount3", "-u", fuseDir.toString());
            if (!nbdfuse.waitFor(20, TimeUnit.SECONDS)) {
                nbdfuse.destroyForcibly();
            }
        }
    }

    private void fileSystemRoundTrip(String uri) throws Exception {
        try (Stack s = new Stack(uri)) {
            Tools.ok(dir, 300, "mkfs.ext4", "-q", "-F", s.loop);
            s.mount();
            SplittableRandom random = new SplittableRandom(11);
            List<String> names = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                byte[] data = new byte[(i == 0 ? 16 << 20 : 1 << 16) + random.nextInt(1 << 16)];
                random.nextBytes(data);
                String name = "file" + i + ".bin";
                Files.write(s.mnt.resolve(name), data);
                names.add(name);
            }
            List<String> md5 = new ArrayList<>(List.of("md5sum"));
            md5.addAll(names);
            String sums = Tools.ok(s.mnt, 120, md5.toArray(String[]::new));
            Path sumFile = dir.resolve("sums.md5");
            Files.writeString(sumFile, sums);
            Tools.ok(dir, 120, "sync");
            s.umount();
            // Drop the loop device's cached blocks, so the check below reads through NBD.
            Tools.ok(dir, 120, "blockdev", "--flushbufs", s.loop);
            s.mount();
            String check = Tools.ok(s.mnt, 120, "md5sum", "-c", sumFile.toString());
            assertEquals(names.size(), check.lines().filter(l -> l.endsWith(": OK")).count(), check);
            s.umount();
            Tools.ok(dir, 300, "e2fsck", "-f", "-n", s.loop);
        }
    }

    @Test
    void ext4OnTheDevice() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            fileSystemRoundTrip(f.uri(NbdFixture.DEVICE));
        }
    }

    @Test
    void ext4OnAnImageWhileTheDeviceIsWritten() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            f.fillDevice(1);
            String image = f.takeSnapshot();
            try (NbdFixture.DeviceWriter w = f.startDeviceWriter()) {
                fileSystemRoundTrip(f.uri(image));
                assertTrue(w.writes() > 0);
            }
            f.assertDeviceHasOnlyBaseAndLaterWrites();
        }
    }
}
