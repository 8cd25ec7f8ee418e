package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One JVM (the daemon: a job's backup beside another job's retention prune, or a client's backup
 * verb beside a job's prune) holds a directory repository and lists its holders through another
 * path of it (a symbolic link in a job's "repo"). Its own holders must still count as alive to
 * every other process. Before, RepoLock kept them by path, so the listing through the link did
 * not recognise them, opened the holder's file and closed it, and closing it dropped the
 * holder's own lock (POSIX: closing any descriptor of a file drops the process's locks on it).
 * Another process's prune then took that live backup for dead, deleted its lock object, left it
 * out of waitFor, and swept packs the backup still used.
 */
@Timeout(120)
class LiveLocksThroughLinkTest {
    @TempDir
    Path dir;

    @Test
    void aHolderLooksAliveToOtherProcessesAfterThisJvmListedHoldersThroughALink() throws Exception {
        Path real = dir.resolve("real");
        Repository.create(new DirectoryStore(real), RepositoryConfig.of(4096, 64 << 10));
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);
        try (Repository backup = Repository.open(real, false)) {
            String name = backup.lock().name();
            assertTrue(Files.exists(real.resolve(name)));
            // before: another process sees the backup alive
            ChildProcess.Result before = ChildProcess.java(LiveLocksChild.class, real.toString()).check();
            assertTrue(before.out().contains(name), before.all());
            // the prune of another job in this JVM lists the holders through the link
            assertTrue(new DirectoryStore(link).liveLocks().contains(name));
            // after: another process's prune must still see the backup alive (and not delete its lock object)
            ChildProcess.Result after = ChildProcess.java(LiveLocksChild.class, real.toString()).check();
            assertTrue(after.out().contains(name) && Files.exists(real.resolve(name)),
                    "the live backup's lock object was taken for dead by another process: " + after.all()
                            + "; exists=" + Files.exists(real.resolve(name)));
        }
    }

    /**
     * The consequence, end to end: a backup of this JVM loads its catalogue, a prune of this JVM
     * (another job, naming the repository through the link) removes point 1 and condemns its
     * packs, waiting for the backup. A prune of another process then finds the backup dead, so the
     * marker is ripe and point 1's packs are swept. The backup stores point 1's content again,
     * which its catalogue (loaded before the marker) dedups into the swept packs, and commits: a
     * committed point that does not restore.
     */
    @Test
    void aBackupOfThisJvmKeepsWhatItUsesWhenAPruneOfThisJvmListedHoldersThroughALink() throws Exception {
        Path real = dir.resolve("real");
        Repository.create(new DirectoryStore(real), RepositoryConfig.of(4096, 64 << 10));
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);
        byte[] a = Points.random(64 * 4096, 1);
        try (Repository r = Repository.open(real, false)) {
            Points.commit(r, "vda", a);
            Points.commit(r, "vda", Points.random(64 * 4096, 2));
        }
        long id;
        try (Repository backup = Repository.open(real, false)) {
            backup.packs().contains(EntryType.CHUNK, backup.packs().id(a, 0, 4096)); // its catalogue, now
            try (Repository p = Repository.openForPrune(link)) {
                PruneReport first = Pruner.prune(p, 1);
                assertTrue(first.condemnedPacks() > 0 && first.removedPacks() == 0, first.format());
            }
            // another process prunes (keep 1): the backup is alive, so nothing may be swept yet
            ChildProcess.java(PruneLoopChild.class, real.toString(), "1", "1").check();
            id = Points.commit(backup, "vda", a); // point 1's content again: deduped
        }
        try (Repository r = Repository.open(real, false)) {
            assertArrayEquals(a, Points.read(r, id),
                    "the committed point " + id + " reads back");
        }
    }
}
