package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.jblksnap.device.BlockDevice;
import org.jblksnap.nbd.client.NbdAddress;
import org.jblksnap.nbd.server.Export;
import org.jblksnap.nbd.server.NbdServer;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A repository on a small tmpfs that fills up during a backup: the backup ends with a clear
 * error, the repository verifies clean, and the earlier point restores byte for byte.
 */
@Timeout(300)
class FullDiskTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;
    private Path mount;
    private final Progress progress = Progress.quiet(new PrintStream(new ByteArrayOutputStream(), true,
            StandardCharsets.UTF_8));

    @BeforeEach
    void mountSmallTmpfs() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to mount a tmpfs");
        mount = Files.createDirectory(dir.resolve("small"));
        ChildProcess.of("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mount.toString()).check();
    }

    @AfterEach
    void unmount() throws Exception {
        if (mount != null) {
            ChildProcess.of("umount", mount.toString()).check();
        }
    }

    private BackupSummary backup(Path device) throws Exception {
        Path socket = dir.resolve("nbd.sock");
        try (BlockDevice io = BlockDevice.open(device, true); NbdServer server = new NbdServer()) {
            server.exports().add(new Export("vda", "", io, true));
            server.listenUnix(socket);
            try (Repository repo = Repository.openOrCreate(mount.resolve("repo"), RepositoryConfig.of(256 << 10, MIB))) {
                return new BackupRunner(repo, progress, 2, 2)
                        .run(BackupRequest.of("vda", new NbdAddress.Unix(socket), "vda", null));
            }
        }
    }

    @Test
    void aFullDiskEndsTheBackupWithAClearErrorAndTheRepositoryVerifiesClean() throws Exception {
        Random rnd = new Random(11);
        byte[] content = new byte[16 * MIB];
        byte[] first = new byte[2 * MIB];
        rnd.nextBytes(first);
        System.arraycopy(first, 0, content, 0, first.length);
        Path device = Files.write(dir.resolve("disk.img"), content);
        Path atPoint1 = Files.copy(device, dir.resolve("point1.img"));
        long point1 = backup(device).pointId();

        // 14 MiB of data that does not compress, onto 6 MiB of tmpfs
        byte[] more = new byte[14 * MIB];
        rnd.nextBytes(more);
        System.arraycopy(more, 0, content, 2 * MIB, more.length);
        Files.write(device, content);
        IOException e = assertThrows(IOException.class, () -> backup(device));
        String message = String.valueOf(e.getMessage());
        assertTrue(message.toLowerCase().contains("no space left") || message.contains("ENOSPC"), message);

        try (Repository repo = Repository.open(mount.resolve("repo"), false)) {
            assertEquals(java.util.List.of(point1), repo.points().ids(), "no point was committed by the failed backup");
            VerifyReport v = new Verifier(repo, progress, 2).verify(null);
            assertTrue(v.ok(), v.format());
            Path out = dir.resolve("restored.img");
            new Restorer(repo, progress, 2).restore(point1, out);
            assertEquals(-1, Files.mismatch(atPoint1, out), "the earlier point restores byte for byte");
        }
    }
}
