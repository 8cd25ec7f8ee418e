package org.jblksnap.nbd.server;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.protocol.WireReader;
import org.jblksnap.nbd.tls.NbdChannel;
import org.jblksnap.nbd.tls.TlsCredentials;

/**
 * One client connection: the handshake, then the transmission phase.
 *
 * <p>Workers take turns at the socket: one reads a request (and its payload), lets the next
 * worker read, runs its request and sends the reply through the {@link ReplyWriter}. So
 * requests run concurrently, replies go out in the order they finish, a slow request holds
 * up only its own worker, and no request is handed from thread to thread. A budget of
 * buffer memory bounds what one connection has in flight: when it is spent, reading waits.
 *
 * <h2>Life</h2>
 * A connection's life is one {@link State} that only moves forward, so a check of "how far"
 * is one comparison:
 * <pre>
 *              GO or              end()               in flight answered, then
 * HANDSHAKE ───────────────▶ ACTIVE ───────▶ ENDING ──────────────────────────────▶ CLOSED
 *           EXPORT_NAME        │               │      the client left or grace over      ▲
 *                              │ DISC          │ DISC                                    │
 *                              └───▶ DRAINING ◀┘ ────────── in flight answered ──────────┘
 * any state ──ABORT, end() in the handshake, a broken rule, an end of stream, a failed write──▶ CLOSED
 * </pre>
 * <ul>
 * <li>HANDSHAKE: option haggling on the connection's thread; nothing is in flight, so an
 *     {@link #end()} closes at once.
 * <li>ACTIVE: the workers read requests and run them.
 * <li>ENDING: the export went away or the server is closing. The workers still read, but
 *     answer what they read from now on with ESHUTDOWN (which tells the client to
 *     disconnect); once the requests in flight are answered the client has a short grace
 *     time to leave, then the connection closes.
 * <li>DRAINING: the client sent DISC. Nothing more is read; the requests in flight run to
 *     their replies (bounded), then the connection closes.
 * <li>CLOSED: the socket is closed, the export let go, {@link #closed()} complete. Any state
 *     gets here at once on a broken rule of the protocol, an end of stream or a failed write.
 * </ul>
 * Workers read while the state is before DRAINING and refuse what they read at ENDING or
 * later.
 *
 * <h2>Locks</h2>
 * A thread holding one of these may take those below it, never one above:
 * <ol>
 * <li>{@code readLock}: the request stream ({@code in}). A worker holds it to read one
 *     request with its payload; on DISC it holds it while the requests in flight finish,
 *     which needs no lock above (their replies give the budget back).
 * <li>the {@link ReplyWriter}'s lock: the reply stream (a failed write closes from under it).
 * <li>this connection's monitor: {@code state} and {@code session}. Held only to change them,
 *     never across I/O or a call out.
 * <li>the {@link ExportRegistry}'s monitor, taken by {@link #close()} to let the export go
 *     (after leaving this monitor). The registry calls {@link #exportRemoved} outside its own.
 * </ol>
 */
final class Connection implements ExportRegistry.User {
    private static final Logger LOG = Logger.getLogger(Connection.class.getName());
    /** Buffer memory one connection may have in flight, in 4 KiB units. */
    private static final int BUDGET_UNITS = (64 << 20) >> 12;
    /** What a request without data costs, so the count in flight stays bounded too. */
    private static final int MIN_COST = 16;
    private static final long DRAIN_TIMEOUT_MS = 30_000;
    private static final long GOODBYE_GRACE_MS = 2_000;
    /** The request stream's buffer: small, as thousands of connections may sit idle. */
    private static final int READ_BUFFER = 16 << 10;

    /** Where a connection is in its life; it only moves forward (see the class doc). */
    enum State {
        HANDSHAKE, ACTIVE, ENDING, DRAINING, CLOSED
    }

    // Set at construction; thread-safe themselves.
    private final NbdServer server;
    private final NbdChannel channel;
    /** TLS required before anything else (FORCEDTLS), or null for a plain listener. */
    private final TlsCredentials tls;
    private final String peer;
    private final ReplyWriter out;
    /** Buffer memory in flight: taken when a request is read, given back when its reply is out. */
    private final Semaphore budget = new Semaphore(BUDGET_UNITS);
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    /** The handshake. */
    private final Deadline handshakeDue;
    /** The rest of each request once its first byte came (its header, then its payload). */
    private final Deadline readDue;
    /** Each write of replies. */
    private final Deadline writeDue;
    private final long requestTimeoutNanos;

    private final ReentrantLock readLock = new ReentrantLock();
    // guarded by readLock (by the connection's thread alone during the handshake)
    private final WireReader in;

    // guarded by this; volatile so that workers may read the state without the monitor
    private volatile State state = State.HANDSHAKE;
    /** The handshake's outcome; set on the way to ACTIVE, never changed after. */
    private Session session;

    Connection(NbdServer server, SocketChannel socket, TlsCredentials tls, String peer) {
        this.server = server;
        this.channel = new NbdChannel(socket);
        this.tls = tls;
        this.peer = peer;
        this.requestTimeoutNanos = server.limits().requestTimeout().toNanos();
        this.handshakeDue = new Deadline(server.limits().handshakeTimeout().toNanos());
        this.readDue = new Deadline(requestTimeoutNanos);
        this.writeDue = new Deadline(requestTimeoutNanos);
        this.in = new WireReader(channel, "client", READ_BUFFER);
        this.out = new ReplyWriter(channel, this::close, writeDue);
    }

    /**
     * True when a step of this connection passed its deadline (the server then closes it).
     * Called by the server's watchdog alone (see {@link Deadline#passed}).
     */
    boolean overdue(long now) {
        return handshakeDue.passed(now) | readDue.passed(now) | writeDue.passed(now);
    }

    /** Serves the connection to its end; never throws. */
    void run() {
        try {
            handshakeDue.start();
            Session s = new ServerHandshake(channel, in, tls, server.exports(), this, server.maxPayload(), peer).run();
            handshakeDue.clear();
            if (s == null || !activate(s)) {
                return;
            }
            LOG.fine(() -> peer + ": transmission on " + s.export().name() + (s.structured() ? " (structured)" : ""));
            transmit(s, new Commands(s, server.pool(), server.maxPayload(), server.limits().requestTimeout().toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (EOFException | AsynchronousCloseException e) {
            LOG.fine(() -> peer + ": " + e.getMessage());
        } catch (ClosedChannelException e) {
            LOG.fine(() -> peer + ": connection closed");
        } catch (IOException e) {
            if (state != State.CLOSED) {
                LOG.info(() -> peer + ": " + e.getMessage());
            }
        } catch (RuntimeException | Error e) {
            LOG.log(Level.WARNING, peer + ": connection failed", e);
        } finally {
            close();
        }
    }

    /**
     * HANDSHAKE → ACTIVE with the session the handshake agreed on; false, with the export let
     * go, when the connection was ended meanwhile.
     */
    private boolean activate(Session s) {
        synchronized (this) {
            if (state == State.HANDSHAKE) {
                session = s;
                state = State.ACTIVE;
                return true;
            }
        }
        server.exports().detach(s.export().name(), this);
        return false;
    }

    /** Moves the state forward to {@code to}, unless it is there or further already. */
    private synchronized void advance(State to) {
        if (state.compareTo(to) < 0) {
            state = to;
        }
    }

    private void transmit(Session s, Commands commands) throws InterruptedException {
        List<Thread> helpers = new ArrayList<>();
        try {
            for (int i = 1; i < server.workersPerConnection(); i++) {
                helpers.add(server.threads().name("nbd-worker " + peer).start(() -> work(s, commands)));
            }
        } catch (OutOfMemoryError e) {
            // "unable to create native thread": serve with the workers there are
            LOG.warning(() -> peer + ": serving with " + (helpers.size() + 1) + " workers: " + e.getMessage());
        }
        work(s, commands);
        for (Thread t : helpers) {
            t.join();
        }
    }

    /**
     * One worker: takes the next request off the socket (one reader at a time), runs it and
     * sends its reply, over and over. With several workers per connection, requests run
     * concurrently and reply in the order they finish, and nothing is handed between threads.
     */
    private void work(Session s, Commands commands) {
        try {
            while (true) {
                Request r;
                boolean refuse;
                readLock.lock();
                try {
                    if (reached(State.DRAINING)) {
                        return;
                    }
                    r = next(s);
                    refuse = reached(State.ENDING);
                } finally {
                    readLock.unlock();
                }
                if (r == null) {
                    return;
                }
                Reply reply = null;
                try {
                    reply = refuse ? commands.error(r, Nbd.ESHUTDOWN, "export " + s.export().name() + " is going away")
                            : commands.execute(r);
                } finally {
                    // The command is done with the payload; the budget goes back with the reply.
                    if (r.payload() != null) {
                        server.pool().release(r.payload());
                    }
                    if (reply == null) {
                        budget.release(r.cost());
                    }
                }
                Request done = r;
                reply.whenSent(() -> budget.release(done.cost()));
                out.send(reply);
            }
        } catch (EOFException | AsynchronousCloseException e) {
            LOG.fine(() -> peer + ": " + e.getMessage());
            close();
        } catch (ClosedChannelException e) {
            close();
        } catch (IOException e) {
            if (state != State.CLOSED) {
                LOG.info(() -> peer + ": " + e.getMessage());
            }
            close();
        } catch (RuntimeException | Error e) {
            LOG.log(Level.WARNING, peer + ": connection failed", e);
            close();
        }
    }

    /**
     * Reads the next request with its payload, holding its share of the budget; null when
     * reading ends (DISC, once the requests in flight are answered, or a broken rule).
     */
    private Request next(Session s) throws IOException {
        // Idle between requests for as long as the client likes; once a request has begun,
        // it must arrive whole in time (its payload included, not the wait for memory).
        in.need(1, "between requests");
        readDue.start();
        in.need(Nbd.REQUEST_HEADER, "in a request header");
        readDue.clear();
        int magic = in.getInt();
        int flags = in.getShort();
        int type = in.getShort();
        long cookie = in.getLong();
        long offset = in.getLong();
        long length = in.getInt() & 0xffffffffL;
        if (magic != Nbd.REQUEST_MAGIC) {
            LOG.info(() -> peer + ": request with wrong magic 0x" + Integer.toHexString(magic) + "; closing");
            close();
            return null;
        }
        if (type == Nbd.CMD_DISC) {
            advance(State.DRAINING);
            awaitInFlight();
            close();
            return null;
        }
        if (type == Nbd.CMD_WRITE && length > server.maxPayload()) {
            // Its payload cannot be skipped safely: the spec allows a hard disconnect.
            LOG.info(() -> peer + ": WRITE of " + length + " bytes is above the maximum payload; closing");
            close();
            return null;
        }
        int cost = cost(type, length);
        budget.acquireUninterruptibly(cost);
        ByteBuffer payload = null;
        if (type == Nbd.CMD_WRITE && length > 0) {
            try {
                payload = server.pool().acquire((int) length, requestTimeoutNanos / 1_000_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                budget.release(cost);
                throw new InterruptedIOException("interrupted waiting for payload memory");
            } catch (RuntimeException | Error e) {
                // The payload cannot be skipped without memory either: the connection closes.
                budget.release(cost);
                throw e;
            }
            readDue.start();
            try {
                in.readFully(payload, "in the middle of a WRITE payload");
            } catch (IOException e) {
                server.pool().release(payload);
                budget.release(cost);
                throw e;
            } finally {
                readDue.clear();
            }
            payload.flip();
        }
        return new Request(flags, type, cookie, offset, length, payload, cost);
    }

    private int cost(int type, long length) {
        if ((type == Nbd.CMD_READ || type == Nbd.CMD_WRITE) && length <= server.maxPayload()) {
            return Math.max(MIN_COST, (int) ((length + 4095) >>> 12));
        }
        return MIN_COST;
    }

    /** Waits until every request read so far has its reply sent (bounded). */
    private void awaitInFlight() {
        try {
            if (budget.tryAcquire(BUDGET_UNITS, DRAIN_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                budget.release(BUDGET_UNITS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The export went away (or the server is closing): requests in flight finish, new ones
     * get ESHUTDOWN; after a grace time for the client's own disconnect, the connection
     * closes. Returns at once.
     */
    @Override
    public void exportRemoved(String name) {
        end();
    }

    /**
     * Ends the connection cleanly: in the handshake it closes at once; in transmission it
     * moves to ENDING and, once the requests in flight are answered and the client had its
     * grace time to leave, closes. Returns at once.
     */
    void end() {
        State was;
        synchronized (this) {
            was = state;
            if (was == State.ACTIVE) {
                state = State.ENDING;
            }
        }
        if (was == State.HANDSHAKE) {
            close();
        } else if (was == State.ACTIVE) {
            Thread.ofVirtual().name("nbd-ending " + peer).start(() -> {
                awaitInFlight();
                try {
                    closed.get(GOODBYE_GRACE_MS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException | ExecutionException e) {
                    // the client did not leave in time: closing it here
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                close();
            });
        }
    }

    /** Closes the socket and lets the export go, at once; the requests in flight fail to reply. */
    void close() {
        Session s;
        synchronized (this) {
            if (state == State.CLOSED) {
                return;
            }
            state = State.CLOSED;
            s = session;
        }
        try {
            channel.close();
        } catch (IOException e) {
            LOG.fine(() -> peer + ": close: " + e.getMessage());
        }
        if (s != null) {
            server.exports().detach(s.export().name(), this);
        }
        server.connectionClosed(this);
        closed.complete(null);
    }

    /** Completes once the connection is closed. */
    CompletableFuture<Void> closed() {
        return closed;
    }

    private boolean reached(State s) {
        return state.compareTo(s) >= 0;
    }

    @Override
    public String toString() {
        return peer;
    }
}
