package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jblksnap.repo.AtomicFiles;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A backup process killed with SIGKILL in the middle of its run. */
@Timeout(180)
class CrashTest {
    private static final int MIB = 1 << 20;
    private static final int SIZE = 32 * MIB;
    private static final int CS = 256 << 10;
    private static final long PACK = 1 << 20;

    @TempDir
    Path dir;

    private final Progress quiet = Progress.quiet(new PrintStream(PrintStream.nullOutputStream()));

    private Path repoDir() {
        return dir.resolve("repo");
    }

    /** Fills [from, to) of the disk with random bytes. */
    private static void scribble(Path disk, long from, long to, long seed) throws IOException {
        Random rnd = new Random(seed);
        byte[] b = new byte[MIB];
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (long off = from; off < to; off += MIB) {
                rnd.nextBytes(b);
                ch.write(ByteBuffer.wrap(b), off);
            }
        }
    }

    /** The finished packs. */
    private long packs() throws IOException {
        try (Stream<Path> s = Files.walk(repoDir().resolve("packs"))) {
            return s.filter(p -> Files.isRegularFile(p) && !AtomicFiles.isTemporary(p)).count();
        }
    }

    private BackupSummary backup(Path disk, int changes) throws Exception {
        try (ServerProcess s = ServerProcess.nbdkit(dir, "-r", "file", disk.toString());
                Repository repo = Repository.openOrCreate(repoDir(), RepositoryConfig.of(CS, PACK))) {
            return new BackupRunner(repo, quiet, 4, 2).run(BackupRequest.of("vda", s.address(), "", new CbtRef("g", changes)));
        }
    }

    private void assertRestores(long point, Path expected) throws IOException {
        Path out = dir.resolve("restored-" + point);
        try (Repository repo = Repository.open(repoDir(), false)) {
            new Restorer(repo, quiet, 2).restore(point, out);
        }
        assertEquals(-1, Files.mismatch(expected, out), "point " + point);
    }

    @Test
    void aBackupKilledMidwayLeavesAValidRepositoryAndTheNextOneWorks() throws Exception {
        Path disk = dir.resolve("disk.raw");
        scribble(disk, 0, SIZE, 1);
        Path ref1 = Files.copy(disk, dir.resolve("ref1.raw"));
        long first = backup(disk, 1).pointId();
        long before = packs();

        scribble(disk, 4 * MIB, 28 * MIB, 2);
        Path ref2 = Files.copy(disk, dir.resolve("ref2.raw"));
        Process child;
        // each read of a 4 MiB block waits a second: the child is killed between its first reads
        // and its next ones, with some packs finished and one open
        try (ServerProcess slow = ServerProcess.nbdkit(dir, "-r", "--filter=delay", "file", disk.toString(), "rdelay=1")) {
            String java = ProcessHandle.current().info().command().orElseThrow();
            child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), BackupChild.class.getName(), repoDir().toString(),
                    Integer.toString(CS), Long.toString(PACK),
                    ((org.jblksnap.nbd.client.NbdAddress.Unix) slow.address()).socket().toString(), "vda", "g", "2")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (packs() < before + 2 && child.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(child.isAlive(), "the child is still backing up: " + Files.readString(dir.resolve("child.log")));
            child.destroyForcibly(); // SIGKILL
            child.waitFor();
        }
        assertEquals(137, child.exitValue(), Files.readString(dir.resolve("child.log"), StandardCharsets.UTF_8));

        try (Repository repo = Repository.open(repoDir(), false)) {
            assertEquals(List.of(first), repo.points().ids(), "the killed run committed nothing");
            VerifyReport v = new Verifier(repo, quiet, 2).verify(null);
            assertTrue(v.ok(), v.format());
            assertTrue(v.unusedEntries() >= 8, "the killed run's finished packs are there, unused: " + v.format());
            try (Stream<Path> all = Files.walk(repoDir())) {
                assertFalse(all.anyMatch(AtomicFiles::isTemporary), "no temporary file is left once opened alone");
            }
        }

        BackupSummary next = backup(disk, 2);
        assertNull(next.parent(), "nbdkit offers no dirty bitmap: a full read");
        assertEquals(96, next.stats().changedChunks(), next.format());
        assertTrue(next.stats().newChunks() <= 96 - 8, "chunks stored by the killed run are reused: " + next.format());
        assertRestores(first, ref1);
        assertRestores(next.pointId(), ref2);
        try (Repository repo = Repository.open(repoDir(), false)) {
            VerifyReport v = new Verifier(repo, quiet, 2).verify(null);
            assertTrue(v.ok(), v.format());
            assertEquals(0, v.unusedEntries(), v.format());
        }
    }
}
