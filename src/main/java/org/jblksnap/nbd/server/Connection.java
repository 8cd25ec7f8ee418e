package org.jblksnap.nbd.server;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.protocol.WireReader;

/**
 * One client connection: the handshake, then the transmission phase.
 *
 * <p>Workers take turns at the socket: one reads a request (and its payload), lets the next
 * worker read, runs its request and sends the reply through the {@link ReplyWriter}. So
 * requests run concurrently, replies go out in the order they finish, a slow request holds
 * up only its own worker, and no request is handed from thread to thread. A budget of
 * buffer memory bounds what one connection has in flight: when it is spent, reading waits.
 *
 * <p>Endings: DISC, and an export removed or the server closing, let the requests in flight
 * finish; after a removal new requests get ESHUTDOWN (which tells the client to disconnect)
 * until the client leaves or a short grace time passes. A broken rule of the protocol, an
 * end of stream or a failed write closes at once.
 */
final class Connection implements ExportRegistry.User {
    private static final Logger LOG = Logger.getLogger(Connection.class.getName());
    /** Buffer memory one connection may have in flight, in 4 KiB units. */
    private static final int BUDGET_UNITS = (64 << 20) >> 12;
    /** What a request without data costs, so the count in flight stays bounded too. */
    private static final int MIN_COST = 16;
    private static final long DRAIN_TIMEOUT_MS = 30_000;
    private static final long GOODBYE_GRACE_MS = 2_000;

    private final NbdServer server;
    private final SocketChannel channel;
    private final String peer;
    private final WireReader in;
    private final ReplyWriter out;
    private final ReentrantLock readLock = new ReentrantLock();
    private final Semaphore budget = new Semaphore(BUDGET_UNITS);
    private volatile Session session;
    private volatile boolean ending;
    private volatile boolean stopReading;
    private volatile boolean closed;

    Connection(NbdServer server, SocketChannel channel, String peer) {
        this.server = server;
        this.channel = channel;
        this.peer = peer;
        this.in = new WireReader(channel, "client");
        this.out = new ReplyWriter(channel, this::close);
    }

    /** Serves the connection to its end; never throws. */
    void run() {
        try {
            Session s = new ServerHandshake(channel, in, server.exports(), this, server.maxPayload(), peer).run();
            if (s == null) {
                return;
            }
            session = s;
            if (ending) {
                return;
            }
            LOG.fine(() -> peer + ": transmission on " + s.export().name() + (s.structured() ? " (structured)" : ""));
            transmit(s, new Commands(s, server.pool(), server.maxPayload()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (EOFException | AsynchronousCloseException e) {
            LOG.fine(() -> peer + ": " + e.getMessage());
        } catch (ClosedChannelException e) {
            LOG.fine(() -> peer + ": connection closed");
        } catch (IOException e) {
            if (!closed) {
                LOG.info(() -> peer + ": " + e.getMessage());
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, peer + ": connection failed", e);
        } finally {
            close();
        }
    }

    private void transmit(Session s, Commands commands) throws InterruptedException {
        List<Thread> helpers = new ArrayList<>();
        for (int i = 1; i < server.workersPerConnection(); i++) {
            helpers.add(server.threads().name("nbd-worker " + peer).start(() -> work(s, commands)));
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
                readLock.lock();
                try {
                    if (stopReading) {
                        return;
                    }
                    r = next(s);
                } finally {
                    readLock.unlock();
                }
                if (r == null) {
                    return;
                }
                if (ending) {
                    finish(r, commands.error(r, Nbd.ESHUTDOWN, "export " + s.export().name() + " is going away"));
                } else {
                    finish(r, commands.execute(r));
                }
            }
        } catch (EOFException | AsynchronousCloseException e) {
            LOG.fine(() -> peer + ": " + e.getMessage());
            close();
        } catch (ClosedChannelException e) {
            close();
        } catch (IOException e) {
            if (!closed) {
                LOG.info(() -> peer + ": " + e.getMessage());
            }
            close();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, peer + ": connection failed", e);
            close();
        }
    }

    /**
     * Reads the next request with its payload, holding its share of the budget; null when
     * reading ends (DISC, once the requests in flight are answered, or a broken rule).
     */
    private Request next(Session s) throws IOException {
        in.need(Nbd.REQUEST_HEADER, "between requests");
        int magic = in.getInt();
        int flags = in.getShort();
        int type = in.getShort();
        long cookie = in.getLong();
        long offset = in.getLong();
        long length = in.getInt() & 0xffffffffL;
        if (magic != Nbd.REQUEST_MAGIC) {
            LOG.info(() -> peer + ": request with wrong magic 0x" + Integer.toHexString(magic) + "; closing");
            stopReading = true;
            close();
            return null;
        }
        if (type == Nbd.CMD_DISC) {
            stopReading = true;
            awaitInFlight();
            close();
            return null;
        }
        if (type == Nbd.CMD_WRITE && length > server.maxPayload()) {
            // Its payload cannot be skipped safely: the spec allows a hard disconnect.
            LOG.info(() -> peer + ": WRITE of " + length + " bytes is above the maximum payload; closing");
            stopReading = true;
            close();
            return null;
        }
        int cost = cost(type, length);
        budget.acquireUninterruptibly(cost);
        ByteBuffer payload = null;
        if (type == Nbd.CMD_WRITE && length > 0) {
            payload = server.pool().acquire((int) length);
            try {
                in.readFully(payload, "in the middle of a WRITE payload");
            } catch (IOException e) {
                server.pool().release(payload);
                budget.release(cost);
                throw e;
            }
            payload.flip();
        }
        return new Request(flags, type, cookie, offset, length, payload, cost);
    }

    /**
     * Sends the reply: the request's payload goes back to the pool now (the command is done
     * with it), its share of the budget once the reply is out.
     */
    private void finish(Request r, Reply reply) {
        if (r.payload() != null) {
            server.pool().release(r.payload());
        }
        reply.whenSent(() -> budget.release(r.cost()));
        out.send(reply);
    }

    private int cost(int type, long length) {
        if ((type == Nbd.CMD_READ || type == Nbd.CMD_WRITE) && length <= server.maxPayload()) {
            return Math.max(MIN_COST, (int) ((length + 4095) >>> 12));
        }
        return MIN_COST;
    }

    /** Waits until every request read so far has its reply sent (bounded). */
    private boolean awaitInFlight() {
        try {
            if (budget.tryAcquire(BUDGET_UNITS, DRAIN_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                budget.release(BUDGET_UNITS);
                return true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
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

    void end() {
        if (ending) {
            return;
        }
        ending = true;
        if (session == null) {
            // Still in the handshake: nothing in flight.
            close();
            return;
        }
        Thread.ofVirtual().name("nbd-ending " + peer).start(() -> {
            awaitInFlight();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GOODBYE_GRACE_MS);
            while (!closed && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    break;
                }
            }
            close();
        });
    }

    boolean isClosed() {
        return closed;
    }

    void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            stopReading = true;
        }
        try {
            channel.close();
        } catch (IOException e) {
            LOG.fine(() -> peer + ": close: " + e.getMessage());
        }
        Session s = session;
        if (s != null) {
            server.exports().detach(s.export().name(), this);
        }
        server.connectionClosed(this);
    }

    @Override
    public String toString() {
        return peer;
    }
}
