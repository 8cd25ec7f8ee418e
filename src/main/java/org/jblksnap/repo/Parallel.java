package org.jblksnap.repo;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;

/**
 * Runs an I/O task on every item with a few threads; the first failure of any kind (an Error
 * too) stops the rest and is thrown to the caller as it is. Restore, verify and copy run their
 * blocks through it, prune its reads of manifests.
 */
public final class Parallel {
    private Parallel() {
    }

    public interface Task<T> {
        void run(T item) throws IOException;
    }

    public static <T> void forEach(int threads, Iterable<T> items, Task<T> task) throws IOException {
        int queued = threads * 2;
        Semaphore slots = new Semaphore(queued);
        Throwable[] failure = {null};
        ExecutorService pool = Executors.newFixedThreadPool(threads,
                Thread.ofPlatform().daemon().name("repo-io-", 0).factory());
        try {
            for (T item : items) {
                slots.acquire();
                synchronized (failure) {
                    if (failure[0] != null) {
                        slots.release();
                        break;
                    }
                }
                pool.execute(() -> {
                    try {
                        task.run(item);
                    } catch (Throwable e) { // an Error too: it would end the worker alone, the item undone
                        synchronized (failure) {
                            if (failure[0] == null) {
                                failure[0] = e;
                            }
                        }
                    } finally {
                        slots.release();
                    }
                });
            }
            slots.acquire(queued);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        } finally {
            pool.shutdownNow();
        }
        synchronized (failure) {
            switch (failure[0]) {
                case null -> {
                }
                case IOException io -> throw io;
                case RuntimeException re -> throw re;
                case Error err -> throw err;
                default -> throw new IllegalStateException(failure[0]); // a task throws no other
            }
        }
    }
}
