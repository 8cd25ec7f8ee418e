package org.jblksnap.backup;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;

/** Runs an I/O task on every item with a few threads; the first failure stops the rest. */
final class Parallel {
    private Parallel() {
    }

    interface Task<T> {
        void run(T item) throws IOException;
    }

    static <T> void forEach(int threads, Iterable<T> items, Task<T> task) throws IOException {
        int queued = threads * 2;
        Semaphore slots = new Semaphore(queued);
        Throwable[] failure = {null};
        ExecutorService pool = Executors.newFixedThreadPool(threads,
                Thread.ofPlatform().daemon().name("backup-io-", 0).factory());
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
                    } catch (IOException | RuntimeException e) {
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
            if (failure[0] instanceof IOException io) {
                throw io;
            }
            if (failure[0] instanceof RuntimeException re) {
                throw re;
            }
        }
    }
}
