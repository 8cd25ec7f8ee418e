package org.jblksnap.repo;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The repository's lock file and its holders' lock files: who holds them how, and what a
 * process alone does, is in {@code docs/REPOSITORY.md#lock}. The kernel's locks are per
 * process, so within one JVM the holders of the same repository share one lock on
 * {@code lock}, counted here. A conflict is an error naming the cause; only a shared or prune
 * holder waits a while for another process's exclusive hold to end (see {@link #acquire}).
 *
 * <p>Byte ranges of {@code lock}: a shared holder (backup, restore, check, prune) holds byte 1
 * onwards shared; a prune holds byte 0 exclusively besides, so two prunes never overlap; an
 * exclusive holder holds all of it exclusively. A jblksnap from before prune ran beside backups
 * held all of it shared, which byte 0 of a prune conflicts with.
 *
 * <p>Each shared or prune holder has besides a file of its own, {@code locks/UUID-shared} or
 * {@code locks/UUID-prune}, which it holds locked exclusively: the kernel releases it when the
 * process dies, so a prune tells a live holder from a dead one by trying its lock ({@link #live}).
 */
final class RepoLock implements AutoCloseable {
    static final String HOLDERS = "locks";
    private static final Map<Path, Held> HELD = new HashMap<>();
    /** How long a shared or prune holder waits for another process's exclusive hold to end. */
    private static final Duration ALONE_WAIT = Duration.ofSeconds(60);
    private static final Duration RETRY = Duration.ofMillis(100);
    /**
     * The holder files this JVM holds, by file key (device and inode): never opened by
     * {@link #live}, whose close would drop their lock (POSIX: closing any descriptor of a file
     * drops the process's locks on it). By file key, not path: the same repository named
     * through a symbolic link or another mount of it must still be recognised.
     */
    private static final Set<Object> HOLDING = new HashSet<>();

    private static final class Held {
        final FileChannel channel;
        final FileLock lock;
        FileLock prune;
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
    private final boolean prune;
    private Path holder;
    private Object holderKey;
    private FileChannel holderChannel;
    private boolean released;

    private RepoLock(Path file, boolean prune) {
        this.file = file;
        this.prune = prune;
    }

    /**
     * Takes the lock. For a shared lock (or a prune's), whenAlone runs first if no other
     * process or holder in this JVM uses the repository at all.
     *
     * <p>A shared or prune holder waits up to {@link #ALONE_WAIT} while another process holds the
     * lock exclusively: that is mostly another shared holder that found itself alone and removes
     * the temporary files before sharing ({@code docs/REPOSITORY.md#lock}), a walk of the whole
     * repository that two daemons starting their jobs at the same minute would otherwise fail on.
     * An exclusive holder waits for nobody.
     */
    static RepoLock acquire(Path file, ObjectStore.LockMode mode, WhenAlone whenAlone) throws IOException {
        long start = System.nanoTime();
        while (true) {
            RepoLock taken = acquireOnce(file, mode, whenAlone);
            if (taken != null) {
                return taken;
            }
            long waited = System.nanoTime() - start;
            if (waited >= ALONE_WAIT.toNanos()) {
                throw new RepositoryException("repository " + file.getParent() + " is in use by another process"
                        + " that holds it exclusively (waited " + TimeUnit.NANOSECONDS.toSeconds(waited) + " s)");
            }
            try {
                Thread.sleep(RETRY);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for the lock of " + file.getParent());
            }
        }
    }

    /** The lock, or null when another process holds it exclusively (shared and prune modes). */
    private static RepoLock acquireOnce(Path file, ObjectStore.LockMode mode, WhenAlone whenAlone) throws IOException {
        boolean exclusive = mode == ObjectStore.LockMode.EXCLUSIVE;
        boolean prune = mode == ObjectStore.LockMode.PRUNE;
        // The real path: the same repository reached through a symbolic link is the same lock.
        Path key = file.getParent().toRealPath().resolve(file.getFileName());
        RepoLock taken;
        synchronized (HELD) {
            Held h = HELD.get(key);
            if (h != null) {
                if (exclusive || !h.lock.isShared()) {
                    throw new RepositoryException("repository " + key.getParent() + " is in use by this process");
                }
                if (prune) {
                    if (h.prune != null) {
                        throw new PruneConflictException("repository " + key.getParent() + " is pruned by this process");
                    }
                    h.prune = pruneLock(h.channel, key);
                }
                h.users++;
                taken = new RepoLock(key, prune);
            } else {
                FileChannel ch = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
                try {
                    FileLock alone = ch.tryLock(0, Long.MAX_VALUE, false);
                    FileLock lock;
                    if (exclusive) {
                        lock = alone;
                        if (lock == null) {
                            throw new RepositoryException("repository " + key.getParent() + " is in use by another process");
                        }
                    } else {
                        if (alone != null) {
                            whenAlone.run();
                            alone.release();
                        }
                        lock = ch.tryLock(1, Long.MAX_VALUE - 1, true);
                        if (lock == null) {
                            ch.close();
                            return null;
                        }
                    }
                    Held held = new Held(ch, lock);
                    if (prune) {
                        held.prune = pruneLock(ch, key);
                    }
                    HELD.put(key, held);
                    taken = new RepoLock(key, prune);
                } catch (IOException | RuntimeException e) {
                    ch.close();
                    throw e;
                }
            }
        }
        if (!exclusive) {
            try {
                taken.holdFile(mode);
            } catch (IOException | RuntimeException e) {
                taken.close();
                throw e;
            }
        }
        return taken;
    }

    /**
     * Byte 0, a prune's own. Held by another process: a prune, when one of its holder files is
     * alive ({@link PruneConflictException}, which a job takes for "skipped"); else a jblksnap
     * from before concurrent prune holding all of the file shared, which is no prune at all: a
     * plain error, so that a job fails loudly rather than skip its prunes for good.
     */
    private static FileLock pruneLock(FileChannel ch, Path key) throws IOException {
        FileLock p = ch.tryLock(0, 1, false);
        if (p == null) {
            String repo = "repository " + key.getParent();
            if (live(key.getParent()).stream().anyMatch(h -> h.endsWith("-prune"))) {
                throw new PruneConflictException(repo + " is in use by another process that prunes it");
            }
            throw new RepositoryException(repo + " is in use by a process that holds byte 0 of its lock file: another"
                    + " prune starting, or a jblksnap older than concurrent prune, which a prune must not run beside");
        }
        return p;
    }

    /**
     * Makes this holder's file, locked before it gets its name: whoever sees the name finds it
     * locked while this process lives.
     */
    private void holdFile(ObjectStore.LockMode mode) throws IOException {
        Path dir = file.getParent().resolve(HOLDERS);
        Files.createDirectories(dir);
        Path tmp = dir.resolve(AtomicFiles.TEMP_PREFIX + UUID.randomUUID());
        Path target = dir.resolve(UUID.randomUUID() + "-" + mode.name().toLowerCase(java.util.Locale.ROOT));
        FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        Object key = null;
        try {
            ch.lock();
            key = fileKey(tmp); // a rename keeps it
            synchronized (HELD) {
                HOLDING.add(key);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            synchronized (HELD) {
                HOLDING.remove(key);
            }
            ch.close();
            Files.deleteIfExists(tmp);
            throw e;
        }
        holder = target;
        holderKey = key;
        holderChannel = ch;
    }

    private static Object fileKey(Path p) throws IOException {
        Object key = Files.readAttributes(p, BasicFileAttributes.class).fileKey();
        if (key == null) {
            throw new IOException("the file system of " + p + " gives files no identity; a repository needs one");
        }
        return key;
    }

    /** This holder's lock object, {@code locks/NAME}; null for an exclusive holder. */
    String name() {
        return holder == null ? null : HOLDERS + "/" + holder.getFileName();
    }

    /**
     * The holder files of the repository in root whose lock a live process holds, as
     * {@code locks/NAME}; a file whose lock nobody holds belongs to a dead process and is
     * removed.
     */
    static Set<String> live(Path root) throws IOException {
        Path dir = root.resolve(HOLDERS);
        Set<String> live = new TreeSet<>();
        if (!Files.isDirectory(dir)) {
            return live;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (AtomicFiles.isTemporary(p)) {
                    continue;
                }
                String name = HOLDERS + "/" + p.getFileName();
                try {
                    Object key = fileKey(p);
                    synchronized (HELD) {
                        if (HOLDING.contains(key)) {
                            live.add(name);
                            continue;
                        }
                    }
                } catch (NoSuchFileException gone) {
                    continue; // its holder ended meanwhile
                }
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                    FileLock l = ch.tryLock();
                    if (l == null) {
                        live.add(name);
                    } else {
                        Files.deleteIfExists(p); // its holder died: nobody will ever lock it again
                    }
                } catch (NoSuchFileException gone) {
                    // its holder ended meanwhile
                } catch (OverlappingFileLockException held) {
                    live.add(name);
                }
            }
        }
        return live;
    }

    @Override
    public void close() throws IOException {
        if (holder != null) {
            try {
                Files.deleteIfExists(holder);
            } finally {
                synchronized (HELD) {
                    HOLDING.remove(holderKey);
                }
                holderChannel.close();
            }
        }
        synchronized (HELD) {
            if (released) {
                return;
            }
            released = true;
            Held h = HELD.get(file);
            if (prune && h.prune != null) {
                h.prune.release();
                h.prune = null;
            }
            if (--h.users == 0) {
                HELD.remove(file);
                h.channel.close();
            }
        }
    }
}
