package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process that finds a directory repository unused holds its lock exclusively for a moment
 * and removes the temporary files (a walk of the whole repository) before it shares the lock.
 * Another process opening the repository shared in that moment (two daemons whose jobs start at
 * the same minute) must wait for it, not fail with "held exclusively".
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
            child[0] = ChildProcess.java(OpenSharedChild.class, repo.toString()).start(log);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!(Files.exists(log) && Files.readString(log).contains("ready"))) {
                if (System.nanoTime() > deadline || !child[0].isAlive()) {
                    throw new AssertionError("the child did not start: " + (Files.exists(log) ? Files.readString(log) : ""));
                }
                sleep(20);
            }
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

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
