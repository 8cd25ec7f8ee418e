package org.jblksnap.nbd.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.device.UnixSocketFile;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.tls.TlsCredentials;
import org.jblksnap.snapshot.SnapshotManager;

/**
 * The NBD server: every tracked device under its name and every snapshot image as
 * {@code <device>@<snapshot-id>}, on any number of Unix and TCP listeners. Devices and
 * images come and go with the engine (through {@link EngineExports}, subscribed to it); other
 * exports, such as a backup point, can be added through {@link #exports()}.
 *
 * <p>Threads: a virtual thread per listener accepts; each connection has 16 worker threads
 * that take turns reading a request, then run it and send its reply, so replies complete
 * out of order and a slow request holds up no other (see {@link Connection}).
 *
 * <p>Limits ({@link NbdLimits}): a connection above the cap is closed at once; payload
 * buffers of all connections come from one {@link BufferPool} within the memory budget; a
 * watchdog thread closes every connection whose handshake, request or reply write passed its
 * deadline. An Error in the accept loop (out of memory, "unable to create native thread")
 * closes the connection being accepted, is logged, and the loop goes on.
 */
public final class NbdServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NbdServer.class.getName());
    private static final long CLOSE_TIMEOUT_MS = 10_000;

    private final ExportRegistry exports = new ExportRegistry();
    private final NbdLimits limits;
    private final BufferPool pool;
    /** Socket buffers (the kernel caps them at net.core.[rw]mem_max): a 1 MiB reply fits at once. */
    private static final int SOCKET_BUFFER = 4 << 20;
    /** Requests one connection runs at once (as nbdkit's default of 16 threads). */
    private static final int WORKERS = 16;
    private final List<Listener> listeners = new ArrayList<>();
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    /** The engine's devices and images coming and going; null for a server without an engine. */
    private final SnapshotManager.Subscription engineExports;
    private volatile boolean closed;
    /** Where connection threads come from (tests make it fail). */
    volatile Supplier<Thread.Builder> threadSource = () -> Thread.ofPlatform().daemon();
    private Thread watchdog;
    /** The cap was hit and logged; logged again once the count went below it. */
    private volatile boolean atCap;

    /** A server of the exports added through {@link #exports()} only (a backup point, say). */
    public NbdServer() {
        this(NbdLimits.DEFAULTS);
    }

    /** As {@link #NbdServer()}, within the limits given. */
    public NbdServer(NbdLimits limits) {
        this.limits = limits;
        this.pool = new BufferPool(Nbd.MAX_PAYLOAD, limits.payloadMemory());
        this.engineExports = null;
    }

    /** Serves the engine's devices and images (images read-write, like blksnap's). */
    public NbdServer(SnapshotManager engine) {
        this(engine, false);
    }

    /** @param readOnlyImages export snapshot images read-only */
    public NbdServer(SnapshotManager engine, boolean readOnlyImages) {
        this(engine, readOnlyImages, NbdLimits.DEFAULTS);
    }

    /** @param readOnlyImages export snapshot images read-only */
    public NbdServer(SnapshotManager engine, boolean readOnlyImages, NbdLimits limits) {
        this.limits = limits;
        this.pool = new BufferPool(Nbd.MAX_PAYLOAD, limits.payloadMemory());
        this.engineExports = engine.subscribe(new EngineExports(exports, readOnlyImages));
    }

    public ExportRegistry exports() {
        return exports;
    }

    /** Listens on a Unix socket: see {@link UnixSocketFile} for what may be at the path already. */
    public void listenUnix(Path socket) throws IOException {
        start(new Listener(UnixSocketFile.listen(socket, "NBD socket", null), socket, null));
    }

    /**
     * Listens on a TCP address exactly as given (the caller picks 127.0.0.1 unless the user
     * named another address). With credentials, every client must start TLS before anything
     * else and show a certificate of their authority; without (null), anyone who reaches the
     * address is served. Returns the bound address, which tells the port when 0 was given.
     */
    public InetSocketAddress listenTcp(InetSocketAddress address, TlsCredentials tls) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.INET);
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.bind(address);
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot listen on " + address + ": " + e.getMessage(), e);
        }
        start(new Listener(ch, null, tls));
        return (InetSocketAddress) ch.getLocalAddress();
    }

    /** The addresses listened on. */
    public synchronized List<SocketAddress> addresses() {
        List<SocketAddress> a = new ArrayList<>();
        for (Listener l : listeners) {
            if (l.socketFile != null) {
                a.add(UnixDomainSocketAddress.of(l.socketFile));
                continue;
            }
            try {
                a.add(l.channel.getLocalAddress());
            } catch (IOException e) {
                // closed meanwhile
            }
        }
        return a;
    }

    private synchronized void start(Listener l) throws IOException {
        if (closed) {
            l.channel.close();
            throw new IOException("the NBD server is closed");
        }
        listeners.add(l);
        if (watchdog == null) {
            watchdog = Thread.ofVirtual().name("nbd-watchdog").start(this::watch);
        }
        Thread.ofVirtual().name("nbd-accept " + l.describe()).start(l::acceptLoop);
        LOG.info(() -> "NBD server listening on " + l.describe() + (l.tls != null ? " (TLS required)" : ""));
    }

    /** Stops listening and ends every connection (in-flight requests finish first, bounded). */
    @Override
    public void close() {
        List<Listener> ls;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            ls = List.copyOf(listeners);
        }
        if (engineExports != null) {
            engineExports.close();
        }
        if (watchdog != null) {
            watchdog.interrupt();
        }
        for (Listener l : ls) {
            l.close();
        }
        List<CompletableFuture<Void>> ends = new ArrayList<>();
        for (Connection c : connections) {
            c.end();
            ends.add(c.closed());
        }
        try {
            CompletableFuture.allOf(ends.toArray(CompletableFuture[]::new))
                    .get(CLOSE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // a connection that did not end in time is closed below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Connection c : connections) {
            c.close();
        }
    }

    BufferPool pool() {
        return pool;
    }

    NbdLimits limits() {
        return limits;
    }

    /**
     * Closes each connection whose handshake, request or reply write passed its deadline. A
     * {@link Deadline} counts from the tick that first saw its step, so a step that hangs is
     * cut between its timeout and two ticks after: an eighth of the shortest timeout (at most
     * half a second) keeps that within a quarter of the timeout (at most a second).
     */
    private void watch() {
        long tick = Math.clamp(Math.min(limits.handshakeTimeout().toMillis(), limits.requestTimeout().toMillis()) / 8,
                10, 500);
        while (!closed) {
            try {
                Thread.sleep(tick);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Connection c : connections) {
                if (c.overdue(now)) {
                    LOG.info(() -> c + ": timed out; closing");
                    c.close();
                }
            }
        }
    }

    /**
     * Connections run on platform threads: the engine's file I/O blocks, and a virtual thread
     * blocked in a (non-O_DIRECT) FileChannel read holds its carrier, so reads that miss the
     * page cache would be limited to one per CPU. Platform threads also keep the socket in
     * plain blocking mode. Measured: as fast or faster than virtual threads (BENCHMARKS.md).
     */
    Thread.Builder threads() {
        return threadSource.get();
    }

    int workersPerConnection() {
        return WORKERS;
    }

    int maxPayload() {
        return Nbd.MAX_PAYLOAD;
    }

    void connectionClosed(Connection c) {
        connections.remove(c);
        if (atCap && connections.size() < limits.maxConnections()) {
            synchronized (this) {
                atCap = false;
            }
        }
    }

    /** Open connections (handshake or transmission). */
    int connectionCount() {
        return connections.size();
    }

    private final class Listener {
        final ServerSocketChannel channel;
        final Path socketFile;
        final TlsCredentials tls;

        Listener(ServerSocketChannel channel, Path socketFile, TlsCredentials tls) {
            this.channel = channel;
            this.socketFile = socketFile;
            this.tls = tls;
        }

        String describe() {
            try {
                return socketFile != null ? socketFile.toString() : String.valueOf(channel.getLocalAddress());
            } catch (IOException e) {
                return "closed listener";
            }
        }

        void acceptLoop() {
            long n = 0;
            while (!closed) {
                SocketChannel ch;
                try {
                    ch = channel.accept();
                } catch (ClosedChannelException e) {
                    return;
                } catch (IOException | RuntimeException | Error e) {
                    // Out of descriptors or memory, say: keep the listener, try again shortly.
                    LOG.log(Level.WARNING, "accept on " + describe() + " failed", e);
                    sleepQuietly();
                    continue;
                }
                try {
                    if (!serve(ch, ++n)) {
                        return;
                    }
                } catch (RuntimeException | Error e) {
                    LOG.log(Level.WARNING, "accepting a connection on " + describe() + " failed", e);
                    closeQuietly(ch);
                    sleepQuietly();
                }
            }
        }

        /** Starts serving an accepted connection, or closes it above the cap; false once the server closed. */
        private boolean serve(SocketChannel ch, long n) {
            if (connections.size() >= limits.maxConnections()) {
                closeQuietly(ch);
                synchronized (NbdServer.this) {
                    if (!atCap) {
                        atCap = true;
                        LOG.warning(() -> "NBD connection limit (" + limits.maxConnections() + ") reached on "
                                + describe() + "; closing new connections until some end");
                    }
                }
                return true;
            }
            String peer = describe() + "#" + n;
            try {
                ch.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
                ch.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
                if (socketFile == null) {
                    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    peer = String.valueOf(ch.getRemoteAddress());
                }
            } catch (IOException e) {
                closeQuietly(ch);
                return true;
            }
            Connection c = new Connection(NbdServer.this, ch, tls, peer);
            connections.add(c);
            if (closed) {
                c.close();
                return false;
            }
            try {
                threads().name("nbd-conn " + peer).start(c::run);
            } catch (RuntimeException | Error e) {
                c.close();
                throw e;
            }
            return true;
        }

        void close() {
            closeQuietly(channel);
            if (socketFile != null) {
                try {
                    Files.deleteIfExists(socketFile);
                } catch (IOException e) {
                    LOG.fine(() -> "removing " + socketFile + ": " + e.getMessage());
                }
            }
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // nothing more to do
        }
    }
}
