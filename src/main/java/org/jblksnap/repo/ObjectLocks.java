package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/**
 * The repository lock of a store that has no file locks (S3): one object per holder,
 * {@code locks/ID-shared} or {@code locks/ID-exclusive}, that the holder rewrites every
 * {@link #REFRESH} and deletes when it is done. To take the lock a process creates its object
 * first and lists the others second: if one conflicts (any other beside an exclusive one, an
 * exclusive one beside any other) it deletes its own and fails. Two processes racing both see
 * each other (each listed after its own object was whole), so at least one of them fails and
 * never do both proceed. An object not rewritten for {@link #STALE} belongs to a process that
 * died (kill -9, a lost host) and is ignored, as restic does; nothing waits.
 * {@code docs/REPOSITORY.md#lock}.
 */
final class ObjectLocks implements ObjectStore.Lock {
    static final String PREFIX = "locks/";
    static final Duration REFRESH = Duration.ofMinutes(5);
    static final Duration STALE = Duration.ofMinutes(30);

    private final ObjectStore store;
    private final String name;
    private final Thread refresher;

    private ObjectLocks(ObjectStore store, String name, ByteBuffer content) {
        this.store = store;
        this.name = name;
        this.refresher = Thread.ofVirtual().name("lock-refresh").start(() -> {
            try {
                while (true) {
                    Thread.sleep(REFRESH);
                    store.put(name, content.duplicate());
                }
            } catch (InterruptedException | IOException stop) {
                // released, or the store is gone: the object turns stale
            }
        });
    }

    static ObjectLocks acquire(ObjectStore store, boolean exclusive) throws IOException {
        String name = PREFIX + UUID.randomUUID() + (exclusive ? "-exclusive" : "-shared");
        String host = ProcessHandle.current().pid() + "@" + hostName();
        ByteBuffer content = ByteBuffer.wrap(("{\"holder\":\"" + host + "\",\"exclusive\":" + exclusive + "}")
                .getBytes(StandardCharsets.UTF_8));
        store.put(name, content.duplicate());
        try {
            Instant staleBefore = Instant.now().minus(STALE);
            for (ObjectStore.Stored o : store.list(PREFIX)) {
                if (o.name().equals(name) || o.modified().isBefore(staleBefore)) {
                    continue;
                }
                boolean other = o.name().endsWith("-exclusive");
                if (exclusive || other) {
                    throw new RepositoryException("repository " + store.location() + " is in use by another process"
                            + (other ? " that holds it exclusively (prune)" : "") + ": lock " + o.name()
                            + " written " + o.modified() + " (stale and ignored after " + STALE.toMinutes()
                            + " minutes)");
                }
            }
        } catch (IOException | RuntimeException e) {
            store.delete(name);
            throw e;
        }
        return new ObjectLocks(store, name, content);
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    @Override
    public int removedTemporaries() {
        return 0; // an object store has none: an object appears whole or not at all
    }

    @Override
    public void close() throws IOException {
        refresher.interrupt();
        store.delete(name);
    }
}
