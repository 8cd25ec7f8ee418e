package org.jblksnap.repo;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * The repository's lock file: who holds it how, and what a process alone does, is in
 * {@code docs/REPOSITORY.md#lock}. The kernel's locks are per process, so within one JVM the
 * holders of the same repository share one lock, counted here. Nothing waits: a conflict is
 * an error naming the cause.
 */
final class RepoLock implements AutoCloseable {
    private static final Map<Path, Held> HELD = new HashMap<>();

    private static final class Held {
        final FileChannel channel;
        final FileLock lock;
        int users = 1;

        Held(FileChannel channel, FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }
    }

    /** Run while holding the lock exclusively for a moment, before sharing it. */
    interface WhenAlone {
        void run() throws IOException;
    }

    private final Path file;
    private boolean released;

    private RepoLock(Path file) {
        this.file = file;
    }

    /**
     * Takes the lock. For a shared lock, whenAlone runs first if no other process or holder in
     * this JVM uses the repository at all.
     */
    static RepoLock acquire(Path file, boolean exclusive, WhenAlone whenAlone) throws IOException {
        // The real path: the same repository reached through a symbolic link is the same lock.
        Path key = file.getParent().toRealPath().resolve(file.getFileName());
        synchronized (HELD) {
            Held h = HELD.get(key);
            if (h != null) {
                if (exclusive || !h.lock.isShared()) {
                    throw new RepositoryException("repository " + key.getParent() + " is in use by this process");
                }
                h.users++;
                return new RepoLock(key);
            }
            FileChannel ch = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            try {
                FileLock alone = ch.tryLock(0, Long.MAX_VALUE, false);
                FileLock lock;
                if (exclusive) {
                    lock = alone;
                } else {
                    if (alone != null) {
                        whenAlone.run();
                        alone.release();
                    }
                    lock = ch.tryLock(0, Long.MAX_VALUE, true);
                }
                if (lock == null) {
                    throw new RepositoryException("repository " + key.getParent() + " is in use by another process"
                            + (exclusive ? "" : " that holds it exclusively (prune)"));
                }
                HELD.put(key, new Held(ch, lock));
                return new RepoLock(key);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (HELD) {
            if (released) {
                return;
            }
            released = true;
            Held h = HELD.get(file);
            if (--h.users == 0) {
                HELD.remove(file);
                h.channel.close();
            }
        }
    }
}
