package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;

import org.jblksnap.device.FileIo;
import org.jblksnap.fuse.Kernel;
import org.jblksnap.repo.Points;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A point of a 512-byte-sector device (its size not a multiple of 16 KiB) restores to a block
 * device of 16 KiB logical blocks (a loop device made with -b 16384; NVMe namespaces with 16 KiB
 * LBAs are the same) and of 512-byte ones. The file store of /dev says 4096, and the JDK checks
 * 4096, but the kernel needs the device's own block: the restore's direct writes take it from
 * sysfs (DirectIo.alignment); with 4096 the last block's direct write got EINVAL after the
 * other blocks had overwritten the device.
 */
@Timeout(120)
class RestoreToLargeSectorDeviceTest {
    private static final int MIB = 1 << 20;
    private static final int CS = 64 << 10;

    @TempDir
    Path dir;

    private final Progress progress = Progress.quiet(new PrintStream(new ByteArrayOutputStream(), true,
            StandardCharsets.UTF_8));

    @Test
    void aPointRestoresToADeviceOf16KiBLogicalBlocks() throws Exception {
        restoreToLoop(16384);
    }

    @Test
    void aPointRestoresToADeviceOf512ByteLogicalBlocks() throws Exception {
        restoreToLoop(512);
    }

    private void restoreToLoop(int logicalBlock) throws Exception {
        Kernel.assumeLoopDevices();
        ChildProcess.assumeInstalled("losetup");
        int size = 4 * MIB + 3 * CS + 4096 + 512; // a 512-byte-sector source: its last block is short
        byte[] content = new byte[size];
        new Random(5).nextBytes(content);
        long point;
        try (Repository repo = Repository.openOrCreate(dir.resolve("repo"), RepositoryConfig.of(CS, 4 * MIB))) {
            point = Points.commit(repo, "sdb", content);
        }
        int deviceSize = (size + 65535) / 65536 * 65536;
        Path backing = dir.resolve("backing.img");
        Files.write(backing, new byte[deviceSize]);
        ChildProcess.Result r = ChildProcess.of("losetup", "--find", "--show", "-b", Integer.toString(logicalBlock),
                backing.toString()).run();
        assumeTrue(r.ok(), "losetup -b " + logicalBlock + " refused: " + r.err());
        Path loop = Path.of(r.out().strip());
        try {
            try (Repository repo = Repository.open(dir.resolve("repo"), false)) {
                new Restorer(repo, progress, 2).restore(point, loop);
            }
            byte[] got = new byte[size];
            try (FileChannel ch = FileChannel.open(loop, StandardOpenOption.READ)) {
                FileIo.readFully(ch, 0, ByteBuffer.wrap(got), loop);
            }
            assertArrayEquals(content, Arrays.copyOf(got, size));
        } finally {
            ChildProcess.of("losetup", "-d", loop.toString()).check();
        }
    }
}
