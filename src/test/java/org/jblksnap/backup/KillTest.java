package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.jblksnap.nbd.client.NbdAddress;
import org.jblksnap.repo.Pruner;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a backup and of a prune at random moments (the crash test of issue 11): rounds
 * alternate between a backup and a prune in a child JVM, killed with SIGKILL a random time
 * after it starts its work (up to twice what the work takes when nobody kills it, so some
 * kills come after the end). After each kill: the repository verifies clean, every point in
 * it restores byte for byte to the disk it was taken of (points a killed prune removed are
 * gone, whole; a point a killed backup committed is there, whole), and the next backup works.
 *
 * <p>The moments are seeded: the seed is printed, and {@code -Djblksnap.kill.seed=N} runs the
 * same rounds again (the kill times are the same; where they land depends on the machine).
 * {@code -Djblksnap.kill.rounds=N} sets the number of kills (50). A time limit of 90 s bounds
 * the test on a slow or busy machine: rounds stop starting after it (but never before 10
 * kills), and the kills done are printed. Each round costs a child JVM's start, a verify and
 * a restore of every point: on the 2-core machine, 37 kills fitted in 90 s at a load of 13.
 */
@Timeout(600)
class KillTest {
    private static final int MIB = 1 << 20;
    private static final int SIZE = 4 * MIB;
    private static final int CS = 64 << 10;
    private static final long PACK = 256 << 10;
    private static final int KEEP = 2;
    private static final long TIME_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(90);
    private static final int MIN_ROUNDS = 10;

    @TempDir
    Path dir;

    private final Progress quiet = Progress.quiet(new PrintStream(PrintStream.nullOutputStream()));
    /** The disk each point was taken of, by point id. */
    private final Map<Long, Path> refs = new HashMap<>();
    private int changes;

    private Path repoDir() {
        return dir.resolve("repo");
    }

    /** Rewrites a random quarter of the disk (in 64 KiB pieces) and keeps a copy of what it holds now. */
    private Path change(Path disk, Random rnd, int round) throws IOException {
        byte[] b = new byte[CS];
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (int i = 0; i < SIZE / CS / 4; i++) {
                rnd.nextBytes(b);
                ch.write(ByteBuffer.wrap(b), (long) rnd.nextInt(SIZE / CS) * CS);
            }
        }
        return Files.copy(disk, dir.resolve("ref-" + round + ".raw"));
    }

    private long backup(NbdAddress source, Path ref) throws Exception {
        try (Repository repo = Repository.openOrCreate(repoDir(), RepositoryConfig.of(CS, PACK))) {
            long id = new BackupRunner(repo, quiet, 4, 2).run(BackupRequest.of("vda", source, "", new CbtRef("g", ++changes)))
                    .pointId();
            refs.put(id, ref);
            return id;
        }
    }

    /** Clean verify, and every point restores to its disk; a point without a known disk is the candidate's. */
    private void check(String when, Path candidate) throws IOException {
        List<Long> ids;
        try (Repository repo = Repository.open(repoDir(), false)) {
            VerifyReport v = new Verifier(repo, quiet, 2).verify(null);
            assertTrue(v.ok(), when + ": " + v.format());
            ids = repo.points().ids();
            refs.keySet().retainAll(ids);
            for (long id : ids) {
                Path ref = refs.computeIfAbsent(id, k -> candidate);
                assertTrue(ref != null, when + ": point " + id + " came from nowhere");
                Path out = dir.resolve("restored");
                Files.deleteIfExists(out);
                new Restorer(repo, quiet, 2).restore(id, out);
                assertEquals(-1, Files.mismatch(ref, out), when + ": point " + id + " restores to its disk");
            }
        }
    }

    /** Starts the child, waits for it to start its work, then kills it after delayNanos; returns whether it was still running. */
    private boolean killAfter(ChildProcess child, String started, long delayNanos, Path log) throws Exception {
        Files.deleteIfExists(log);
        Files.createFile(log);
        Process p = child.start(log);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.readString(log).contains(started)) {
                assertTrue(p.isAlive() || Files.readString(log).contains(started), "the child ended before its work: "
                        + Files.readString(log));
                assertTrue(System.nanoTime() < deadline, "the child did not start its work: " + Files.readString(log));
                Thread.sleep(1);
            }
            TimeUnit.NANOSECONDS.sleep(delayNanos);
            boolean running = p.isAlive();
            ChildProcess.kill(p);
            if (!running) {
                assertEquals(0, p.exitValue(), "the child failed on its own: " + Files.readString(log));
            }
            return running;
        } finally {
            ChildProcess.kill(p);
        }
    }

    @Test
    void killedBackupsAndPrunesLeaveAVerifiedRepositoryEveryPointRestoresAndTheNextBackupWorks() throws Exception {
        ChildProcess.assumeInstalled("nbdkit");
        long seed = Long.getLong("jblksnap.kill.seed", System.nanoTime());
        int rounds = Integer.getInteger("jblksnap.kill.rounds", 50);
        System.out.println("KillTest: seed " + seed + " (-Djblksnap.kill.seed=" + seed + " repeats it), " + rounds + " kills");
        Random rnd = new Random(seed);
        Path disk = dir.resolve("disk.raw");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(SIZE);
        }
        long started = System.nanoTime();
        try (ServerProcess nbdkit = ServerProcess.nbdkit(dir, "-r", "file", disk.toString())) {
            Path socket = ((NbdAddress.Unix) nbdkit.address()).socket();
            // Points to start with, and how long a backup and a prune take when nobody kills them.
            for (int i = 0; i < KEEP + 1; i++) {
                backup(nbdkit.address(), change(disk, rnd, -1 - i));
            }
            long t0 = System.nanoTime();
            backup(nbdkit.address(), change(disk, rnd, -10));
            long backupNanos = System.nanoTime() - t0;
            t0 = System.nanoTime();
            try (Repository repo = Repository.open(repoDir(), true)) {
                Pruner.prune(repo, KEEP);
            }
            long pruneNanos = Math.max(System.nanoTime() - t0, TimeUnit.MILLISECONDS.toNanos(20));
            check("before the first kill", null);

            int done = 0;
            int killedRunning = 0;
            List<String> history = new ArrayList<>();
            for (int round = 0; round < rounds && (done < MIN_ROUNDS || System.nanoTime() - started < TIME_LIMIT_NANOS); round++) {
                boolean prune = round % 2 == 1;
                Path candidate = null;
                ChildProcess child;
                long span;
                if (prune) {
                    child = ChildProcess.java(PruneChild.class, repoDir().toString(), Integer.toString(KEEP));
                    span = pruneNanos;
                } else {
                    candidate = change(disk, rnd, round);
                    child = ChildProcess.java(BackupChild.class, repoDir().toString(), Integer.toString(CS),
                            Long.toString(PACK), socket.toString(), "vda", "g", Integer.toString(++changes));
                    span = backupNanos;
                }
                long delay = (long) (rnd.nextDouble() * 2 * span);
                String what = "round " + round + " (seed " + seed + "): " + (prune ? "prune" : "backup") + " killed after "
                        + TimeUnit.NANOSECONDS.toMillis(delay) + " ms";
                boolean running = killAfter(child, prune ? PruneChild.STARTED : BackupChild.STARTED, delay,
                        dir.resolve("child.log"));
                killedRunning += running ? 1 : 0;
                history.add(what + (running ? "" : " (it had ended)"));
                check(what, candidate);
                Path next = change(disk, rnd, 1000 + round);
                backup(nbdkit.address(), next);
                if (refs.size() > KEEP + 3) {
                    try (Repository repo = Repository.open(repoDir(), true)) {
                        Pruner.prune(repo, KEEP);
                    }
                }
                done++;
                for (Path old : listRefs()) {
                    if (!refs.containsValue(old)) {
                        Files.delete(old);
                    }
                }
            }
            check("at the end", null);
            System.out.println("KillTest: " + done + " kills (" + killedRunning + " while the work ran) in "
                    + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started) + " s; backup "
                    + TimeUnit.NANOSECONDS.toMillis(backupNanos) + " ms, prune " + TimeUnit.NANOSECONDS.toMillis(pruneNanos)
                    + " ms undisturbed");
            assertTrue(done >= Math.min(rounds, MIN_ROUNDS), "at least " + MIN_ROUNDS + " kills: " + history);
            assertTrue(killedRunning >= done / 4, "most kills hit the work while it ran: " + history);
        }
    }

    private List<Path> listRefs() throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("ref-")).toList();
        }
    }
}
