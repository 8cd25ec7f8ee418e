package org.jblksnap.nbd.tls;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ScatteringByteChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

/**
 * The byte stream of one NBD connection, either side: the blocking socket itself until
 * {@link #startTls}, then TLS over it (NBD's STARTTLS upgrades a connection in the middle of
 * the option haggling, and there is no way back).
 *
 * <p>One thread reads and one writes at a time, each under its own lock, and the two may run
 * at once (an {@link SSLEngine} allows wrap and unwrap concurrently). A read that meets a TLS
 * 1.3 post-handshake message needing an answer (a KeyUpdate) takes the write lock to send it:
 * read lock, then write lock, never the other way.
 */
public final class NbdChannel implements ScatteringByteChannel, GatheringByteChannel {
    /** Records wrapped before one socket write: a 1 MiB reply goes out in a few system calls. */
    private static final int WRITE_BATCH = 256 << 10;

    private final SocketChannel socket;
    private final ReentrantLock readLock = new ReentrantLock();
    private final ReentrantLock writeLock = new ReentrantLock();
    private volatile SSLEngine engine;
    // guarded by readLock: TLS records read and not yet unwrapped; their plaintext not yet taken
    private ByteBuffer netIn;
    private ByteBuffer appIn;
    // guarded by writeLock: wrapped records not yet written
    private ByteBuffer netOut;

    public NbdChannel(SocketChannel socket) {
        this.socket = socket;
    }

    public SocketChannel socket() {
        return socket;
    }

    public boolean isTls() {
        return engine != null;
    }

    /**
     * Runs the TLS handshake on the socket (nothing may be buffered above it) and from then on
     * carries everything inside TLS. A failed handshake, such as a peer certificate from
     * another authority or bytes that are not TLS, is an {@link SSLException}; the connection
     * must then be closed.
     */
    public void startTls(SSLEngine e) throws IOException {
        readLock.lock();
        writeLock.lock();
        try {
            if (engine != null) {
                throw new IllegalStateException("TLS is already on");
            }
            int packet = e.getSession().getPacketBufferSize();
            netIn = ByteBuffer.allocateDirect(packet).flip();
            appIn = ByteBuffer.allocateDirect(e.getSession().getApplicationBufferSize()).flip();
            netOut = ByteBuffer.allocateDirect(Math.max(WRITE_BATCH, packet));
            e.beginHandshake();
            handshake(e);
            engine = e;
        } finally {
            writeLock.unlock();
            readLock.unlock();
        }
    }

    private void handshake(SSLEngine e) throws IOException {
        ByteBuffer empty = ByteBuffer.allocate(0);
        while (true) {
            switch (e.getHandshakeStatus()) {
                case NEED_WRAP -> {
                    check(e.wrap(empty, netOut));
                    flushNetOut();
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    appIn.compact();
                    SSLEngineResult r;
                    try {
                        r = e.unwrap(netIn, appIn);
                    } finally {
                        appIn.flip();
                    }
                    if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
                        if (!fill()) {
                            throw new SSLException("the peer closed the connection during the TLS handshake");
                        }
                    } else {
                        check(r);
                    }
                }
                case NEED_TASK -> {
                    for (Runnable t = e.getDelegatedTask(); t != null; t = e.getDelegatedTask()) {
                        t.run();
                    }
                }
                case FINISHED, NOT_HANDSHAKING -> {
                    flushNetOut();
                    return;
                }
            }
        }
    }

    private static void check(SSLEngineResult r) throws SSLException {
        if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
            throw new SSLException("the peer closed TLS during its handshake");
        }
        if (r.getStatus() != SSLEngineResult.Status.OK) {
            throw new SSLException("TLS handshake: " + r.getStatus());
        }
    }

    /** Reads more records from the socket into netIn; false at the end of the stream. */
    private boolean fill() throws IOException {
        netIn.compact();
        try {
            if (!netIn.hasRemaining()) {
                throw new SSLException("a TLS record larger than the protocol allows");
            }
            return socket.read(netIn) >= 0;
        } finally {
            netIn.flip();
        }
    }

    private void flushNetOut() throws IOException {
        netOut.flip();
        try {
            while (netOut.hasRemaining()) {
                socket.write(netOut);
            }
        } finally {
            netOut.clear();
        }
    }

    /**
     * Without TLS, one read(2) on the socket: no array, no scattering readv. This is the
     * request stream's read in the transmission phase, once or more per request.
     */
    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (engine == null) {
            return socket.read(dst);
        }
        return (int) read(new ByteBuffer[] {dst}, 0, 1);
    }

    @Override
    public long read(ByteBuffer[] dsts) throws IOException {
        return read(dsts, 0, dsts.length);
    }

    /** Blocks until some plaintext has come (at least one byte), or the stream ended (-1). */
    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        SSLEngine e = engine;
        if (e == null) {
            return socket.read(dsts, offset, length);
        }
        readLock.lock();
        try {
            while (!appIn.hasRemaining()) {
                if (!unwrap(e)) {
                    return -1;
                }
            }
            long n = 0;
            for (int i = offset; i < offset + length && appIn.hasRemaining(); i++) {
                ByteBuffer d = dsts[i];
                int k = Math.min(d.remaining(), appIn.remaining());
                if (k == 0) {
                    continue;
                }
                int limit = appIn.limit();
                appIn.limit(appIn.position() + k);
                d.put(appIn);
                appIn.limit(limit);
                n += k;
            }
            return n;
        } finally {
            readLock.unlock();
        }
    }

    /** Unwraps one record into appIn (reading from the socket as needed); false at the end. */
    private boolean unwrap(SSLEngine e) throws IOException {
        while (true) {
            appIn.compact();
            SSLEngineResult r;
            try {
                r = e.unwrap(netIn, appIn);
            } finally {
                appIn.flip();
            }
            switch (r.getStatus()) {
                case CLOSED -> {
                    return false;
                }
                case BUFFER_UNDERFLOW -> {
                    if (!fill()) {
                        return false;
                    }
                }
                case BUFFER_OVERFLOW -> throw new SSLException("TLS record larger than the session allows");
                case OK -> {
                    if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK
                            || r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                        answerPostHandshake(e);
                    }
                    if (r.bytesProduced() > 0) {
                        return true;
                    }
                }
            }
        }
    }

    /** A post-handshake message asked for an answer (a KeyUpdate): send it. */
    private void answerPostHandshake(SSLEngine e) throws IOException {
        writeLock.lock();
        try {
            for (Runnable t = e.getDelegatedTask(); t != null; t = e.getDelegatedTask()) {
                t.run();
            }
            while (e.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                SSLEngineResult r = e.wrap(ByteBuffer.allocate(0), netOut);
                if (r.getStatus() != SSLEngineResult.Status.OK) {
                    break;
                }
            }
            flushNetOut();
        } finally {
            writeLock.unlock();
        }
    }

    /** Without TLS, one write(2) on the socket, as {@link #read(ByteBuffer)}. */
    @Override
    public int write(ByteBuffer src) throws IOException {
        if (engine == null) {
            return socket.write(src);
        }
        return (int) write(new ByteBuffer[] {src}, 0, 1);
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    /** Writes everything given (a blocking socket takes it all anyway). */
    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        SSLEngine e = engine;
        if (e == null) {
            return socket.write(srcs, offset, length);
        }
        writeLock.lock();
        try {
            long n = 0;
            while (remaining(srcs, offset, length)) {
                SSLEngineResult r = e.wrap(srcs, offset, length, netOut);
                switch (r.getStatus()) {
                    case OK -> n += r.bytesConsumed();
                    case BUFFER_OVERFLOW -> {
                        if (netOut.position() == 0) {
                            throw new SSLException("TLS record larger than the session allows");
                        }
                        flushNetOut();
                    }
                    case CLOSED -> throw new ClosedChannelException();
                    case BUFFER_UNDERFLOW -> throw new SSLException("TLS wrap: buffer underflow");
                }
            }
            flushNetOut();
            return n;
        } finally {
            writeLock.unlock();
        }
    }

    private static boolean remaining(ByteBuffer[] bufs, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (bufs[i].hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    /** Ends what this side sends: a close_notify first with TLS on, then the socket's half-close. */
    public void shutdownOutput() throws IOException {
        SSLEngine e = engine;
        if (e != null) {
            writeLock.lock();
            try {
                closeNotify(e);
            } finally {
                writeLock.unlock();
            }
        }
        socket.shutdownOutput();
    }

    /** Sends TLS's close_notify; the caller holds the write lock. */
    private void closeNotify(SSLEngine e) throws IOException {
        e.closeOutbound();
        e.wrap(ByteBuffer.allocate(0), netOut);
        flushNetOut();
    }

    @Override
    public boolean isOpen() {
        return socket.isOpen();
    }

    /**
     * Closes at once; with TLS on, a close_notify goes first when no write is under way (a
     * blocked writer is not waited for: closing must also end a connection that is stuck).
     */
    @Override
    public void close() throws IOException {
        SSLEngine e = engine;
        if (e != null && socket.isOpen() && writeLock.tryLock()) {
            try {
                closeNotify(e);
            } catch (IOException ignored) {
                // the peer may be gone already; closing is what matters
            } finally {
                writeLock.unlock();
            }
        }
        socket.close();
    }
}
