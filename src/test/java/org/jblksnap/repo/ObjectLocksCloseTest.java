package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release of an object lock ({@code docs/REPOSITORY.md#lock}) leaves no lock object behind,
 * even when the refresher's rewrite is in flight as it is released: a PUT landing after the
 * DELETE would leave a phantom holder for a whole staleness bound.
 */
@Timeout(60)
class ObjectLocksCloseTest {
    @TempDir
    Path dir;

    @Test
    void aRewriteInFlightAtTheReleaseLeavesNoLockObjectBehind() throws Exception {
        Duration stale = Duration.ofSeconds(6); // rewritten every second
        ObjectStore directory = new DirectoryStore(dir);
        Thread test = Thread.currentThread();
        CountDownLatch writing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch landed = new CountDownLatch(1);
        // The refresher's PUT of the lock object (not the one that takes the lock) waits for the
        // test, then lands, interrupted or not: the service carries out a request it already had.
        ObjectStore store = Delegating.proxy(ObjectStore.class, directory, (self, m, args, through) -> {
            if (m.getName().equals("put") && ((String) args[0]).startsWith(ObjectLocks.PREFIX)
                    && Thread.currentThread() != test && landed.getCount() > 0) {
                writing.countDown();
                boolean interrupted = false;
                while (true) {
                    try {
                        release.await();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                try {
                    return through.call();
                } finally {
                    landed.countDown();
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            return through.call();
        });
        ObjectLocks lock = ObjectLocks.acquire(store, ObjectStore.LockMode.SHARED, stale);
        assertTrue(writing.await(10, TimeUnit.SECONDS), "the refresher rewrites the lock object");

        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread closer = Thread.ofPlatform().name("closer").start(() -> {
            try {
                lock.close();
            } catch (Throwable e) {
                failed.set(e);
            }
        });
        // close deleted the object and returned, or waits for the rewrite in flight
        while (closer.getState() != Thread.State.TERMINATED && closer.getState() != Thread.State.WAITING
                && closer.getState() != Thread.State.TIMED_WAITING) {
            Thread.sleep(5);
        }
        boolean waited = closer.isAlive();
        release.countDown();
        assertTrue(landed.await(10, TimeUnit.SECONDS), "the rewrite in flight ends");
        closer.join();
        assertNull(failed.get());

        assertEquals(List.of(), names(directory), "the released lock left its object behind");
        assertTrue(waited, "the release waits for the rewrite in flight");
        Thread.sleep(ObjectLocks.refresh(stale).toMillis() * 2);
        assertEquals(List.of(), names(directory), "no rewrite after the release");
    }

    private static List<String> names(ObjectStore store) throws IOException {
        return store.list(ObjectLocks.PREFIX).stream().map(ObjectStore.Stored::name).toList();
    }
}
