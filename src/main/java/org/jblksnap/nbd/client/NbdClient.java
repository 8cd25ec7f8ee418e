package org.jblksnap.nbd.client;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.protocol.Wire;
import org.jblksnap.nbd.protocol.WireReader;
import org.jblksnap.nbd.tls.NbdChannel;

/**
 * A read-only NBD client: fixed newstyle negotiation with structured replies and metadata
 * contexts, then pipelined READ and BLOCK_STATUS requests. Any number of threads may issue
 * requests; one reader thread matches replies (in any order) to them by handle. A server error
 * fails only its request; a protocol violation or a broken connection fails every request in
 * flight and every later one.
 */
public final class NbdClient implements AutoCloseable {
    private static final long MAX_STATUS_LENGTH = 0xFFFF_FFFFL;
    /** How long a server may take to answer the whole handshake. */
    public static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(30);

    private final NbdChannel channel;
    private final WireReader in;
    private final ExportInfo export;
    private final Map<Integer, String> contextNames = new HashMap<>();
    private final Map<Long, PendingReply<?>> pending = new ConcurrentHashMap<>();
    private final AtomicLong handles = new AtomicLong(1);
    private final Object writeLock = new Object();
    private final Thread reader;
    private volatile IOException broken;
    private volatile boolean closing;

    private NbdClient(NbdChannel channel, WireReader in, ExportInfo export) {
        this.channel = channel;
        this.in = in;
        this.export = export;
        export.contexts().forEach((name, id) -> contextNames.put(id, name));
        this.reader = Thread.ofPlatform().daemon().name("nbd-reader " + export.name()).start(this::readReplies);
    }

    /**
     * Connects and opens an export, selecting those of the metadata context queries the
     * server knows (see {@link ExportInfo#contexts()}); an unknown one is simply absent.
     */
    public static NbdClient connect(NbdAddress address, String exportName, List<String> contextQueries)
            throws IOException {
        return connect(address, exportName, contextQueries, List.of());
    }

    /**
     * Connects as {@link #connect(NbdAddress, String, List)} and, on the same connection
     * first, lists the contexts matching listQueries ({@link ExportInfo#listed()}): a server
     * that takes one client at a time needs no second connection for that.
     */
    public static NbdClient connect(NbdAddress address, String exportName, List<String> contextQueries,
            List<String> listQueries) throws IOException {
        return connect(address, exportName, contextQueries, listQueries, HANDSHAKE_TIMEOUT);
    }

    static NbdClient connect(NbdAddress address, String exportName, List<String> contextQueries,
            List<String> listQueries, Duration timeout) throws IOException {
        NbdChannel ch = new NbdChannel(address.open());
        Watchdog w = new Watchdog(ch.socket(), address, timeout);
        try {
            WireReader in = new WireReader(ch, "the NBD server");
            ClientHandshake hs = new ClientHandshake(in, ch);
            hs.greet();
            startTls(hs, ch, address);
            boolean structured = hs.structuredReplies();
            Set<String> listed = structured && !listQueries.isEmpty()
                    ? hs.metaContexts(Nbd.OPT_LIST_META_CONTEXT, exportName, listQueries).keySet()
                    : Set.of();
            Map<String, Integer> contexts = structured && !contextQueries.isEmpty()
                    ? hs.metaContexts(Nbd.OPT_SET_META_CONTEXT, exportName, contextQueries)
                    : Map.of();
            return new NbdClient(ch, in, hs.go(exportName, structured, contexts, listed));
        } catch (IOException e) {
            ch.close();
            throw w.explain(e);
        } catch (RuntimeException e) {
            ch.close();
            throw e;
        } finally {
            w.done();
        }
    }

    /** The metadata contexts the server offers for the queries (OPT_LIST_META_CONTEXT). */
    public static Set<String> listMetaContexts(NbdAddress address, String exportName, List<String> queries)
            throws IOException {
        try (NbdChannel ch = new NbdChannel(address.open())) {
            Watchdog w = new Watchdog(ch.socket(), address, HANDSHAKE_TIMEOUT);
            try {
                WireReader in = new WireReader(ch, "the NBD server");
                ClientHandshake hs = new ClientHandshake(in, ch);
                hs.greet();
                startTls(hs, ch, address);
                if (!hs.structuredReplies()) {
                    return Set.of();
                }
                Set<String> names = hs.metaContexts(Nbd.OPT_LIST_META_CONTEXT, exportName, queries).keySet();
                hs.abort();
                return Set.copyOf(names);
            } catch (IOException e) {
                throw w.explain(e);
            } finally {
                w.done();
            }
        }
    }

    private static void startTls(ClientHandshake hs, NbdChannel ch, NbdAddress address) throws IOException {
        if (address.tls() != null) {
            hs.startTls(ch, address.tls().engine(address.host(), address.port()));
        }
    }

    public ExportInfo export() {
        return export;
    }

    public long size() {
        return export.size();
    }

    /**
     * Reads dst.remaining() bytes at offset into dst (its position does not move), split into
     * requests the server accepts. Holes arrive as zeroes.
     */
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        checkRange(offset, dst.remaining());
        int max = export.blockSizes().maximumRequest();
        ByteBuffer whole = dst.slice();
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (int pos = 0; pos < whole.capacity(); pos += max) {
            int n = Math.min(max, whole.capacity() - pos);
            ReadReply r = new ReadReply(offset + pos, whole.slice(pos, n));
            send(r, Nbd.CMD_READ, n);
            parts.add(r.future);
        }
        return parts.size() == 1 ? parts.getFirst() : CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    }

    /** Reads and waits. */
    public void readFully(long offset, ByteBuffer dst) throws IOException {
        await(read(offset, dst));
    }

    /**
     * One BLOCK_STATUS request: for every selected context, extents from offset on. The
     * server may describe less than asked; {@link #extents} walks a whole range.
     */
    public CompletableFuture<Map<String, List<Extent>>> blockStatus(long offset, long length) {
        if (contextNames.isEmpty()) {
            throw new IllegalStateException("no metadata context was selected on export '" + export.name() + "'");
        }
        int min = export.blockSizes().minimum();
        long n = Math.min(length, MAX_STATUS_LENGTH / min * min);
        checkRange(offset, n);
        StatusReply r = new StatusReply(offset, n, contextNames);
        send(r, Nbd.CMD_BLOCK_STATUS, (int) n);
        return r.future;
    }

    /** The extents of every selected context over [offset, offset + length), waiting. */
    public Map<String, List<Extent>> extents(long offset, long length) throws IOException {
        ExtentCollector c = new ExtentCollector(offset, length, export.contexts().keySet());
        for (long at = c.nextOffset(); at >= 0; at = c.nextOffset()) {
            c.add(await(blockStatus(at, c.end() - at)));
        }
        return c.result();
    }

    private void checkRange(long offset, long length) {
        if (offset < 0 || length <= 0 || offset > export.size() || length > export.size() - offset) {
            throw new IllegalArgumentException("range " + offset + "+" + length + " is outside the export of "
                    + export.size() + " bytes");
        }
    }

    private void send(PendingReply<?> reply, int command, int length) {
        IOException b = broken;
        if (b != null || closing) {
            reply.fail(b != null ? b : new NbdException("the NBD client is closed"));
            return;
        }
        long handle = handles.getAndIncrement();
        pending.put(handle, reply);
        ByteBuffer req = request(command, handle, reply.offset, length);
        try {
            synchronized (writeLock) {
                Wire.writeFully(channel, req);
            }
        } catch (IOException e) {
            breakConnection(new NbdException("sending " + reply.describe() + ": " + e.getMessage(), e));
        }
        if (broken != null && pending.remove(handle) != null) {
            reply.fail(broken);
        }
    }

    private static ByteBuffer request(int command, long handle, long offset, int length) {
        return ByteBuffer.allocate(Nbd.REQUEST_HEADER).putInt(Nbd.REQUEST_MAGIC).putShort((short) 0)
                .putShort((short) command).putLong(handle).putLong(offset).putInt(length).flip();
    }

    /** The reader thread: one reply message at a time until the connection ends. */
    private void readReplies() {
        try {
            while (true) {
                int magic = in.readInt();
                if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
                    int error = in.readInt();
                    PendingReply<?> r = take(in.readLong(), true);
                    r.simple(error, in);
                } else if (magic == Nbd.STRUCTURED_REPLY_MAGIC) {
                    int flags = in.readShort();
                    int type = in.readShort();
                    long handle = in.readLong();
                    int payload = in.readInt();
                    if (!export.structuredReplies()) {
                        throw new NbdException("structured reply although none was negotiated");
                    }
                    if (payload < 0) {
                        throw new NbdException("reply chunk of " + Integer.toUnsignedString(payload) + " bytes");
                    }
                    boolean last = (flags & Nbd.REPLY_FLAG_DONE) != 0;
                    PendingReply<?> r = take(handle, last);
                    r.chunk(type, payload, in);
                    if (last) {
                        r.done();
                    }
                } else {
                    throw new NbdException("bad reply magic 0x" + Integer.toHexString(magic));
                }
            }
        } catch (IOException e) {
            if (closing) {
                breakConnection(new NbdException("the NBD client is closed"));
            } else {
                breakConnection(e instanceof NbdException n ? n : new NbdException("NBD connection lost: " + e.getMessage(), e));
            }
        }
    }

    private PendingReply<?> take(long handle, boolean remove) throws NbdException {
        PendingReply<?> r = remove ? pending.remove(handle) : pending.get(handle);
        if (r == null) {
            throw new NbdException("reply for handle " + handle + ", which is not in flight");
        }
        return r;
    }

    /** Fails everything in flight and every later request; closes the socket. */
    private void breakConnection(IOException cause) {
        if (broken == null) {
            broken = cause;
        }
        for (Long h : List.copyOf(pending.keySet())) {
            PendingReply<?> r = pending.remove(h);
            if (r != null) {
                r.fail(broken);
            }
        }
        try {
            channel.close();
        } catch (IOException e) {
            // already failing
        }
    }

    /** Waits for a request and unwraps its failure. */
    public static <T> T await(CompletableFuture<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the NBD server");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new NbdException("NBD request failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * Waits (up to 30 s) for requests in flight, sends NBD_CMD_DISC and closes the
     * connection.
     */
    @Override
    public void close() throws IOException {
        if (closing) {
            return;
        }
        CompletableFuture<?>[] inFlight = pending.values().stream().map(r -> r.future)
                .toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(inFlight).get(30, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // their callers see the failure; closing anyway
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closing = true;
        if (broken == null) {
            try {
                synchronized (writeLock) {
                    Wire.writeFully(channel, request(Nbd.CMD_DISC, 0, 0, 0));
                }
                channel.shutdownOutput();
            } catch (IOException e) {
                // the server may already be gone; closing anyway
            }
        }
        try {
            reader.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        breakConnection(new NbdException("the NBD client is closed"));
    }
}
