package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;

import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A repository on a file system that fills up in the middle of a backup (a small tmpfs, a
 * real ENOSPC from the kernel): the backup ends with a clear error, commits no point, the
 * repository verifies clean and every earlier point restores byte for byte; with room again,
 * the next backup works.
 */
@Timeout(180)
class RepositoryFullDiskTest {
    private static final int MIB = 1 << 20;
    private static final int SIZE = 16 * MIB;
    private static final int CS = 256 << 10;
    private static final long PACK = 1 << 20;

    @TempDir
    Path dir;
    private Path mount;

    private final Progress quiet = Progress.quiet(new PrintStream(PrintStream.nullOutputStream()));

    @AfterEach
    void unmount() throws IOException {
        if (mount != null) {
            ChildProcess.of("umount", "-l", mount.toString()).run();
        }
    }

    private static void scribble(Path disk, long seed) throws IOException {
        Random rnd = new Random(seed);
        byte[] b = new byte[MIB];
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (long off = 0; off < SIZE; off += MIB) {
                rnd.nextBytes(b);
                ch.write(ByteBuffer.wrap(b), off);
            }
        }
    }

    private BackupSummary backup(Path repoDir, Path disk, int changes) throws Exception {
        try (ServerProcess s = ServerProcess.nbdkit(dir, "-r", "file", disk.toString());
                Repository repo = Repository.openOrCreate(repoDir, RepositoryConfig.of(CS, PACK))) {
            return new BackupRunner(repo, quiet, 4, 2).run(BackupRequest.of("vda", s.address(), "", new CbtRef("g", changes)));
        }
    }

    private void assertClean(Path repoDir) throws IOException {
        try (Repository repo = Repository.open(repoDir, false)) {
            VerifyReport v = new Verifier(repo, quiet, 2).verify(null);
            assertTrue(v.ok(), v.format());
        }
    }

    private void assertRestores(Path repoDir, long point, Path expected) throws IOException {
        Path out = dir.resolve("restored-" + point);
        Files.deleteIfExists(out);
        try (Repository repo = Repository.open(repoDir, false)) {
            new Restorer(repo, quiet, 2).restore(point, out);
        }
        assertEquals(-1, Files.mismatch(expected, out), "point " + point);
    }

    @Test
    void aDiskFullInTheMiddleOfABackupLeavesACleanRepository() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "mounts a tmpfs: needs root");
        ChildProcess.assumeInstalled("nbdkit");
        mount = Files.createDirectory(dir.resolve("small"));
        // Room for one point of the random 16 MiB disk and a half, not two.
        ChildProcess.of("mount", "-t", "tmpfs", "-o", "size=26M", "tmpfs", mount.toString()).check();
        Path repoDir = mount.resolve("repo");
        Path disk = dir.resolve("disk.raw");
        scribble(disk, 1);
        Path ref1 = Files.copy(disk, dir.resolve("ref1.raw"));
        long first = backup(repoDir, disk, 1).pointId();

        scribble(disk, 2);
        Exception full = assertThrows(Exception.class, () -> backup(repoDir, disk, 2));
        String message = String.valueOf(full.getMessage());
        for (Throwable c = full.getCause(); c != null; c = c.getCause()) {
            message += " / " + c.getMessage();
        }
        assertTrue(message.contains("No space left on device") || message.contains("ENOSPC"),
                "the error says the disk is full: " + message);
        try (Repository repo = Repository.open(repoDir, false)) {
            assertEquals(List.of(first), repo.points().ids(), "the failed backup committed nothing");
        }
        assertClean(repoDir);
        assertRestores(repoDir, first, ref1);

        ChildProcess.of("mount", "-o", "remount,size=64M", mount.toString()).check();
        Path ref2 = Files.copy(disk, dir.resolve("ref2.raw"));
        BackupSummary next = backup(repoDir, disk, 2);
        assertFalse(next.pointId() == first);
        assertClean(repoDir);
        assertRestores(repoDir, first, ref1);
        assertRestores(repoDir, next.pointId(), ref2);
    }
}
