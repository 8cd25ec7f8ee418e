package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The repository lock of a store that has no file locks (S3): one object per holder,
 * {@code locks/ID-shared}, {@code locks/ID-prune} or {@code locks/ID-exclusive}, that the
 * holder rewrites every {@link #refresh} and deletes when it is done. To take the lock a
 * process creates its object first and lists the others second: if one conflicts (any other
 * beside an exclusive one, an exclusive one beside any other, a prune beside a prune) it
 * deletes its own and fails. Two processes racing both see each other (each listed after its
 * own object was whole), so at least one of them fails and never do both proceed. An object
 * not rewritten for {@link #stale} belongs to a process that died (kill -9, a lost host) and is
 * ignored, as restic does; nothing waits.
 *
 * <p>A holder whose own object may have looked stale to others (no rewrite succeeded for half
 * the bound) has lapsed for good: {@link #checkHeld} fails from then on, so it commits no point
 * and deletes no pack that a prune may already have judged by its object's absence.
 *
 * <p>A released lock leaves no object behind: {@link #close} starts no rewrite and waits for one
 * in flight before it deletes the object, since a PUT that lands after the DELETE would bring
 * back a phantom holder for a whole bound. {@code docs/REPOSITORY.md#lock}.
 */
final class ObjectLocks implements ObjectStore.Lock {
    static final String PREFIX = "locks/";
    /** The default staleness bound; {@code -Djblksnap.lock.stale.seconds=N} sets another (tests). */
    static final Duration STALE = Duration.ofMinutes(30);
    /**
     * How long a release waits for a rewrite in flight: far longer than a healthy PUT of a small
     * object, short of the SDK's own timeouts (a stuck request may take minutes to fail).
     */
    static final Duration RELEASE_WAIT = Duration.ofSeconds(30);

    private final ObjectStore store;
    private final String name;
    private final ByteBuffer content;
    private final Duration stale;
    // guarded by this
    /** nanoTime at which the last successful rewrite of the object started. */
    private long lastWritten;
    private boolean lapsed;
    /** Released: no rewrite starts, and the refresher stops. */
    private boolean closed;
    /** Rewrites whose PUT is in flight (the refresher's, and checkHeld's on other threads). */
    private int writing;
    /** The release stopped waiting for a rewrite in flight: that rewrite deletes the object again when it ends. */
    private boolean abandoned;

    private ObjectLocks(ObjectStore store, String name, ByteBuffer content, Duration stale, long written) {
        this.store = store;
        this.name = name;
        this.content = content;
        this.stale = stale;
        this.lastWritten = written;
        Thread.ofVirtual().name("lock-refresh").start(() -> {
            while (awaitTurn()) {
                try {
                    rewrite();
                } catch (IOException failed) {
                    // tried again at the next turn; a lapse longer than half the bound is final
                }
            }
        });
    }

    /**
     * Waits for the refresher's next turn; false once released. A wait on this, not a sleep to
     * interrupt: an interrupt would also close the socket of a PUT in flight (a virtual thread's
     * I/O), and the service may still carry out a request it already had, after the DELETE.
     */
    private synchronized boolean awaitTurn() {
        long due = System.nanoTime() + refresh(stale).toNanos();
        try {
            for (long left = due - System.nanoTime(); !closed && left > 0; left = due - System.nanoTime()) {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        } catch (InterruptedException stop) {
            return false;
        }
        return !closed;
    }

    /** The staleness bound in use: {@link #STALE} unless the system property sets another. */
    static Duration stale() {
        return Duration.ofSeconds(Long.getLong("jblksnap.lock.stale.seconds", STALE.toSeconds()));
    }

    /** How often a holder rewrites its object: a sixth of the bound (5 minutes of 30). */
    static Duration refresh(Duration stale) {
        return stale.dividedBy(6);
    }

    static ObjectLocks acquire(ObjectStore store, ObjectStore.LockMode mode) throws IOException {
        return acquire(store, mode, stale());
    }

    static ObjectLocks acquire(ObjectStore store, ObjectStore.LockMode mode, Duration stale) throws IOException {
        String name = PREFIX + UUID.randomUUID() + "-" + mode.name().toLowerCase(java.util.Locale.ROOT);
        String host = ProcessHandle.current().pid() + "@" + hostName();
        ByteBuffer content = ByteBuffer.wrap(("{\"holder\":\"" + host + "\",\"mode\":\""
                + mode.name().toLowerCase(java.util.Locale.ROOT) + "\",\"started\":\"" + Instant.now() + "\"}")
                .getBytes(StandardCharsets.UTF_8));
        long written = System.nanoTime();
        store.put(name, content.duplicate());
        try {
            Instant staleBefore = Instant.now().minus(stale);
            for (ObjectStore.Stored o : store.list(PREFIX)) {
                if (o.name().equals(name) || o.modified().isBefore(staleBefore)) {
                    continue;
                }
                boolean exclusive = o.name().endsWith("-exclusive");
                boolean prune = o.name().endsWith("-prune");
                if (mode == ObjectStore.LockMode.EXCLUSIVE || exclusive
                        || mode == ObjectStore.LockMode.PRUNE && prune) {
                    String message = "repository " + store.location() + " is in use by another process"
                            + (exclusive ? " that holds it exclusively" : prune ? " that prunes it" : "") + ": lock "
                            + o.name() + " written " + o.modified() + " (stale and ignored after "
                            + stale.toSeconds() / 60 + " minutes)";
                    throw mode == ObjectStore.LockMode.PRUNE && prune ? new PruneConflictException(message)
                            : new RepositoryException(message);
                }
            }
        } catch (IOException | RuntimeException e) {
            store.delete(name);
            throw e;
        }
        return new ObjectLocks(store, name, content, stale, written);
    }

    /** The lock objects rewritten within the bound, by name. */
    static Set<String> live(ObjectStore store, Duration stale) throws IOException {
        Instant staleBefore = Instant.now().minus(stale);
        Set<String> live = new TreeSet<>();
        for (ObjectStore.Stored o : store.list(PREFIX)) {
            if (!o.modified().isBefore(staleBefore)) {
                live.add(o.name());
            }
        }
        return live;
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * Rewrites the object, unless the lock lapsed already (a lapsed holder never counts as alive
     * again) or is released (the object is deleted, or about to be).
     */
    private void rewrite() throws IOException {
        long start = System.nanoTime();
        synchronized (this) {
            checkLapse(start);
            if (lapsed || closed) {
                return;
            }
            writing++;
        }
        boolean deleteAgain;
        try {
            store.put(name, content.duplicate());
            synchronized (this) {
                checkLapse(System.nanoTime());
                if (!lapsed) {
                    lastWritten = Math.max(lastWritten, start);
                }
            }
        } finally {
            synchronized (this) {
                writing--;
                notifyAll();
                deleteAgain = abandoned;
            }
            if (deleteAgain) {
                // the release deleted it already, maybe before this PUT landed (or failed here
                // while the service still carries it out)
                store.delete(name);
            }
        }
    }

    /** Lapsed: no rewrite started within half the bound (the other half covers clocks apart and slow requests). */
    private void checkLapse(long now) {
        if (now - lastWritten > stale.toNanos() / 2) {
            lapsed = true;
        }
    }

    @Override
    public int removedTemporaries() {
        return 0; // an object store has none: an object appears whole or not at all
    }

    @Override
    public String name() {
        return name;
    }

    /**
     * Rewrites the object (a failed request is no failure while an earlier rewrite is recent
     * enough) and returns when the last successful rewrite started: the object has looked alive
     * to every prune since then, and will until a whole bound after it.
     */
    @Override
    public long checkHeld() throws IOException {
        try {
            rewrite();
        } catch (IOException tryLater) {
            // judged below by the last rewrite that succeeded
        }
        synchronized (this) {
            if (closed) {
                throw new RepositoryException("the lock " + store.describe(name) + " of this process was released:"
                        + " nothing more is committed or deleted through it");
            }
            checkLapse(System.nanoTime());
            if (lapsed) {
                throw new RepositoryException("the lock " + store.describe(name) + " of this process lapsed (not"
                        + " rewritten for over " + stale.toSeconds() / 2 + " s): a prune may have taken this process"
                        + " for dead, so nothing more is committed or deleted through it");
            }
            return lastWritten;
        }
    }

    /** Fails unless less than half the bound passed since the rewrite checkHeld returned. */
    @Override
    public void checkSince(long ticket) throws IOException {
        synchronized (this) {
            checkLapse(System.nanoTime());
            if (!lapsed && System.nanoTime() - ticket <= stale.toNanos() / 2) {
                return;
            }
            lapsed = true;
        }
        throw new RepositoryException("the lock " + store.describe(name) + " of this process may have lapsed while"
                + " it committed or deleted (over " + stale.toSeconds() / 2 + " s since it was last rewritten)");
    }

    /**
     * Deletes the object once no rewrite is in flight, so that no PUT of it lands after the
     * DELETE. A rewrite still in flight after {@link #RELEASE_WAIT} deletes it again itself.
     */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            closed = true;
            notifyAll(); // wakes the refresher, which stops
            long end = System.nanoTime() + RELEASE_WAIT.toNanos();
            try {
                for (long left = RELEASE_WAIT.toNanos(); writing > 0 && left > 0; left = end - System.nanoTime()) {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            abandoned = writing > 0;
        }
        store.delete(name);
    }
}
