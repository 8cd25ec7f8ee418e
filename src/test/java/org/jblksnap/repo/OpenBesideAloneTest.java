package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process that finds a directory repository unused holds its lock exclusively for a moment
 * and removes the temporary files (a walk of the whole repository) before it shares the lock.
 * Another process opening the repository shared in that moment (two daemons whose jobs start at
 * the same minute) must wait for it, not fail with "held exclusively". And what a prune that
 * meets another process's lock is told.
 */
@Timeout(120)
class OpenBesideAloneTest {
    @TempDir
    Path dir;

    @Test
    void aSharedOpenWaitsWhileAnotherProcessRemovesTemporariesAlone() throws Exception {
        Path repo = dir.resolve("repo");
        Repository.create(new DirectoryStore(repo), RepositoryConfig.of(4096, 64 << 10));
        Path log = dir.resolve("child.log");
        Process[] child = new Process[1];
        try (RepoLock held = RepoLock.acquire(repo.resolve("lock"), ObjectStore.LockMode.SHARED, () -> {
            // alone: the other process asks for the lock while this one still walks the repository
            child[0] = ChildProcess.java(LockHolderChild.class, repo.toString(), "shared", "0").start(log);
            awaitLine(child[0], log, "ready");
            sleep(1500);
        })) {
            assertTrue(child[0].waitFor(90, TimeUnit.SECONDS), "the child still waits after this process shares the lock");
            String out = Files.readString(log);
            assertEquals(0, child[0].exitValue(), out);
            assertTrue(out.contains("opened"), out);
        } finally {
            if (child[0] != null) {
                ChildProcess.kill(child[0]);
            }
        }
    }

    /**
     * A prune beside another process's prune is a conflict that a job reports as a skipped
     * prune; beside a jblksnap from before concurrent prune (all of the lock file held shared)
     * it is a plain error, so that the job fails loudly instead of skipping its prunes for good.
     */
    @Test
    void aPruneBesideAnotherProcesssPruneConflictsAndBesideAnOldJblksnapFails() throws Exception {
        Path repo = dir.resolve("repo");
        Repository.create(new DirectoryStore(repo), RepositoryConfig.of(4096, 64 << 10));
        for (String mode : new String[] {"prune", "legacy"}) {
            Path log = dir.resolve(mode + ".log");
            Process child = ChildProcess.java(LockHolderChild.class, repo.toString(), mode, "60").start(log);
            try {
                awaitLine(child, log, "opened");
                RepositoryException e = assertThrows(RepositoryException.class, () -> Repository.openForPrune(repo));
                assertEquals(mode.equals("prune"), e instanceof PruneConflictException, e.getMessage());
                assertTrue(e.getMessage().contains(mode.equals("prune") ? "another process that prunes it"
                        : "a jblksnap older than concurrent prune"), e.getMessage());
            } finally {
                ChildProcess.kill(child);
            }
        }
    }

    /** Waits until the child printed line; fails at once when it ended first. */
    private static void awaitLine(Process child, Path log, String line) throws IOException {
        Await.Condition printed = () -> {
            String out = Files.exists(log) ? Files.readString(log) : "";
            assertTrue(out.contains(line) || child.isAlive(), "the child ended: " + out);
            return out.contains(line);
        };
        try {
            Await.until(Duration.ofSeconds(60), printed, () -> "the child did not print " + line);
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e); // interrupted: whenAlone may throw IOException only
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
