package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * DirectoryStore.list beside other writers of a directory repository: a name removed between
 * the directory's read and its stat (a prune deleting a point or a pack, any writer's temporary
 * file renamed or deleted at its end) is left out of the listing. Before, Files.walk's iterator
 * threw an UncheckedIOException(NoSuchFileException), a RuntimeException that no caller's
 * catch saw, and backups, verifies, copies and prunes failed with it. S3Store.list has no such
 * window (a LIST is one answer).
 */
@Timeout(120)
class DirectoryListBesideWritersTest {
    @TempDir
    Path dir;

    /** A prune removing points while a backup lists them (PointStore.ids: latest(), commit()). */
    @Test
    void listingPointsWhileAPruneRemovesThemNeverThrowsARuntimeException() throws Exception {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(4096, 64 << 10));
        try (Repository r = Repository.open(dir, false)) {
            for (int round = 0; round < 5; round++) {
                Path points = dir.resolve("points");
                for (int i = 1; i <= 4000; i++) {
                    Files.write(points.resolve(i + ".point"), new byte[0]);
                }
                Thread deleter = Thread.ofPlatform().start(() -> {
                    for (int i = 1; i <= 4000; i++) {
                        try {
                            Files.deleteIfExists(points.resolve(i + ".point"));
                        } catch (IOException e) {
                            throw new RuntimeException(e);
                        }
                    }
                });
                try {
                    while (deleter.isAlive()) {
                        r.points().ids(); // must return what is there, never throw
                    }
                } catch (RuntimeException e) {
                    fail("PointStore.ids() beside deletes threw " + e, e);
                } finally {
                    deleter.join();
                }
            }
        }
    }

    /**
     * No prune at all: another writer's temporary files (points/.tmp-UUID of a commit, made and
     * removed by DirectoryStore.create) are enough for a listing of points/ to fail.
     */
    @Test
    void listingPointsWhileAnotherWriterCommitsNeverThrowsARuntimeException() throws Exception {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(4096, 64 << 10));
        DirectoryStore store = new DirectoryStore(dir);
        AtomicBoolean stop = new AtomicBoolean();
        // another writer's create(): .tmp-UUID written, linked to a name, the .tmp removed
        Thread writer = Thread.ofPlatform().start(() -> {
            long n = 0;
            while (!stop.get()) {
                try {
                    store.create("points/x" + (n++ % 64), ByteBuffer.wrap(new byte[1]));
                    store.delete("points/x" + (n % 64));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }
        });
        long end = System.nanoTime() + 5_000_000_000L;
        try {
            while (System.nanoTime() < end) {
                List<ObjectStore.Stored> l = store.list("points/"); // must never throw
                assertTrue(l.size() <= 64);
            }
        } catch (RuntimeException e) {
            fail("DirectoryStore.list beside another writer's temporary files threw " + e, e);
        } finally {
            stop.set(true);
            writer.join();
        }
    }
}
