package org.jblksnap.nbd.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

import javax.net.ssl.SSLException;

import org.jblksnap.nbd.protocol.Names;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.protocol.Wire;
import org.jblksnap.nbd.protocol.WireReader;
import org.jblksnap.nbd.tls.NbdChannel;
import org.jblksnap.nbd.tls.TlsCredentials;

/**
 * The fixed newstyle handshake of one connection: option haggling until GO or EXPORT_NAME
 * picks an export (a {@link Session}), or the client aborts or breaks the rules.
 *
 * <p>Every known option with malformed data gets ERR_INVALID, every unknown option
 * ERR_UNSUP, and the session goes on. Only what cannot be answered ends it: a wrong magic,
 * unknown client flags, an EXPORT_NAME for an export that does not exist.
 *
 * <p>With TLS credentials the server runs the protocol's FORCEDTLS mode: until STARTTLS has
 * brought the connection into TLS, every option but STARTTLS and ABORT is answered
 * ERR_TLS_REQD (and EXPORT_NAME, which cannot be answered, closes), so nothing about the
 * exports is told and nothing is served to a client that has not shown a certificate of the
 * authority. After STARTTLS the haggling starts afresh inside TLS; a second STARTTLS is
 * ERR_INVALID. Without credentials STARTTLS is refused with ERR_POLICY.
 */
final class ServerHandshake {
    private static final Logger LOG = Logger.getLogger(ServerHandshake.class.getName());
    /** Option data the server reads into memory; longer data is skipped and refused. */
    static final int MAX_OPTION_DATA = 64 << 10;
    static final int MAX_CONTEXTS = 64;
    /** Options in one handshake (nbdinfo --list asks one INFO per export); one more closes it. */
    static final int MAX_OPTIONS = 1024;
    static final int MIN_BLOCK = Export.MINIMUM_BLOCK;
    static final int PREFERRED_BLOCK = 4096;

    private final NbdChannel channel;
    private final WireReader in;
    private final TlsCredentials tls;
    private final ExportRegistry registry;
    private final ExportRegistry.User user;
    private final int maxPayload;
    private final String peer;

    private boolean noZeroes;
    private boolean structured;
    private String contextsExport;
    private List<Session.Selected> contexts = List.of();

    ServerHandshake(NbdChannel channel, WireReader in, TlsCredentials tls, ExportRegistry registry,
            ExportRegistry.User user, int maxPayload, String peer) {
        this.channel = channel;
        this.in = in;
        this.tls = tls;
        this.registry = registry;
        this.user = user;
        this.maxPayload = maxPayload;
        this.peer = peer;
    }

    /** Runs the handshake; null when it ended without an export (abort, or a hard disconnect). */
    Session run() throws IOException {
        ByteBuffer greeting = ByteBuffer.allocate(18);
        greeting.putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT)
                .putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)).flip();
        Wire.writeFully(channel, greeting);
        in.need(4, "before sending its flags");
        int clientFlags = in.getInt();
        if ((clientFlags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
            LOG.info(() -> peer + ": unknown client flags 0x" + Integer.toHexString(clientFlags) + "; closing");
            return null;
        }
        noZeroes = (clientFlags & Nbd.FLAG_C_NO_ZEROES) != 0;
        for (int options = 0;; options++) {
            if (options == MAX_OPTIONS) {
                LOG.info(() -> peer + ": more than " + MAX_OPTIONS + " options in the handshake; closing");
                return null;
            }
            in.need(16, "during option haggling");
            long magic = in.getLong();
            if (magic != Nbd.IHAVEOPT) {
                LOG.info(() -> peer + ": option without IHAVEOPT magic (0x" + Long.toHexString(magic) + "); closing");
                return null;
            }
            int option = in.getInt();
            long length = in.getInt() & 0xffffffffL;
            if (length > MAX_OPTION_DATA) {
                if (option == Nbd.OPT_EXPORT_NAME) {
                    LOG.info(() -> peer + ": EXPORT_NAME of " + length + " bytes; closing");
                    return null;
                }
                in.skip(length, "in the data of " + Names.option(option));
                reply(option, known(option) ? Nbd.REP_ERR_TOO_BIG : Nbd.REP_ERR_UNSUP,
                        "option data of " + length + " bytes is too long");
                continue;
            }
            ByteBuffer data = ByteBuffer.allocate((int) length);
            in.readFully(data, "in the data of " + Names.option(option));
            data.flip();
            Session s = option(option, data);
            if (s != null) {
                return s == ABORTED ? null : s;
            }
        }
    }

    /** Marks the end of the handshake without an export. */
    private static final Session ABORTED = new Session(null, false, List.of());

    private Session option(int option, ByteBuffer data) throws IOException {
        if (option == Nbd.OPT_STARTTLS) {
            return startTls(data);
        }
        if (tls != null && !channel.isTls() && option != Nbd.OPT_ABORT) {
            if (option == Nbd.OPT_EXPORT_NAME) {
                LOG.info(() -> peer + ": EXPORT_NAME before STARTTLS; closing");
                return ABORTED;
            }
            reply(option, Nbd.REP_ERR_TLS_REQD, "this server requires TLS: send STARTTLS first");
            return null;
        }
        switch (option) {
            case Nbd.OPT_EXPORT_NAME -> {
                return exportName(data);
            }
            case Nbd.OPT_ABORT -> {
                ack(option);
                return ABORTED;
            }
            case Nbd.OPT_LIST -> list(data);
            case Nbd.OPT_INFO, Nbd.OPT_GO -> {
                return infoOrGo(option, data);
            }
            case Nbd.OPT_STRUCTURED_REPLY -> {
                if (data.hasRemaining()) {
                    reply(option, Nbd.REP_ERR_INVALID, "STRUCTURED_REPLY takes no data");
                } else {
                    structured = true;
                    ack(option);
                }
            }
            case Nbd.OPT_LIST_META_CONTEXT -> listMetaContexts(data);
            case Nbd.OPT_SET_META_CONTEXT -> setMetaContexts(data);
            default -> reply(option, Nbd.REP_ERR_UNSUP, Names.option(option) + " is not supported by this server");
        }
        return null;
    }

    /**
     * STARTTLS: acknowledged, then the TLS handshake; a failed one (no certificate, one of
     * another authority, bytes that are not TLS) ends the connection, as the ACK is already out.
     */
    private Session startTls(ByteBuffer data) throws IOException {
        if (tls == null) {
            reply(Nbd.OPT_STARTTLS, Nbd.REP_ERR_POLICY, "TLS is not offered on this socket");
            return null;
        }
        if (channel.isTls()) {
            reply(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "TLS is already on");
            return null;
        }
        if (data.hasRemaining()) {
            reply(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "STARTTLS takes no data");
            return null;
        }
        ack(Nbd.OPT_STARTTLS);
        if (in.buffered() > 0) {
            // Sent before our ACK, so not TLS: a client that does not wait is broken or hostile.
            LOG.info(() -> peer + ": data sent before the STARTTLS reply; closing");
            return ABORTED;
        }
        try {
            channel.startTls(tls.engine(null, -1));
        } catch (SSLException e) {
            LOG.info(() -> peer + ": TLS handshake failed: " + e.getMessage() + "; closing");
            return ABORTED;
        }
        LOG.fine(() -> peer + ": TLS on");
        return null;
    }

    private static boolean known(int option) {
        return switch (option) {
            case Nbd.OPT_STARTTLS, Nbd.OPT_EXPORT_NAME, Nbd.OPT_ABORT, Nbd.OPT_LIST, Nbd.OPT_INFO, Nbd.OPT_GO,
                    Nbd.OPT_STRUCTURED_REPLY, Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> true;
            default -> false;
        };
    }

    private Session exportName(ByteBuffer data) throws IOException {
        String name = Wire.decode(data);
        Export e = name == null ? null : registry.attach(name, user);
        if (e == null) {
            // This option cannot answer with an error: the spec asks to end the session.
            LOG.info(() -> peer + ": EXPORT_NAME of unknown export '" + name + "'; closing");
            return ABORTED;
        }
        ByteBuffer b = ByteBuffer.allocate(10 + (noZeroes ? 0 : 124));
        b.putLong(e.io().capacity()).putShort((short) e.transmissionFlags(structured));
        b.position(b.limit()).flip();
        try {
            Wire.writeFully(channel, b);
        } catch (IOException ex) {
            registry.detach(e.name(), user);
            throw ex;
        }
        return session(e);
    }

    private void list(ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            reply(Nbd.OPT_LIST, Nbd.REP_ERR_INVALID, "LIST takes no data");
            return;
        }
        for (Export e : registry.all()) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            byte[] desc = e.description().getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(4 + name.length + desc.length);
            b.putInt(name.length).put(name).put(desc).flip();
            reply(Nbd.OPT_LIST, Nbd.REP_SERVER, b);
        }
        ack(Nbd.OPT_LIST);
    }

    private Session infoOrGo(int option, ByteBuffer data) throws IOException {
        if (data.remaining() < 6) {
            reply(option, Nbd.REP_ERR_INVALID, "option data too short");
            return null;
        }
        long nameLength = data.getInt() & 0xffffffffL;
        if (nameLength > data.remaining() - 2) {
            reply(option, Nbd.REP_ERR_INVALID, "export name longer than the option data");
            return null;
        }
        String name = Wire.decode(data.slice(data.position(), (int) nameLength));
        data.position(data.position() + (int) nameLength);
        int requests = data.getShort() & 0xffff;
        if (data.remaining() != 2 * requests || name == null) {
            reply(option, Nbd.REP_ERR_INVALID, name == null ? "export name is not valid UTF-8"
                    : "information request count does not match the option length");
            return null;
        }
        Set<Integer> wanted = new LinkedHashSet<>();
        for (int i = 0; i < requests; i++) {
            wanted.add(data.getShort() & 0xffff);
        }
        Export e = option == Nbd.OPT_GO ? registry.attach(name, user) : registry.get(name).orElse(null);
        if (e == null) {
            reply(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return null;
        }
        try {
            ByteBuffer info = ByteBuffer.allocate(12);
            info.putShort((short) Nbd.INFO_EXPORT).putLong(e.io().capacity())
                    .putShort((short) e.transmissionFlags(structured)).flip();
            reply(option, Nbd.REP_INFO, info);
            if (wanted.contains(Nbd.INFO_NAME)) {
                reply(option, Nbd.REP_INFO, infoString(Nbd.INFO_NAME, e.name()));
            }
            if (wanted.contains(Nbd.INFO_DESCRIPTION) && !e.description().isEmpty()) {
                reply(option, Nbd.REP_INFO, infoString(Nbd.INFO_DESCRIPTION, e.description()));
            }
            // Sent even when not asked for: clients that ignore it still get EINVAL, never
            // silent damage, for requests that are not whole sectors.
            ByteBuffer sizes = ByteBuffer.allocate(14);
            sizes.putShort((short) Nbd.INFO_BLOCK_SIZE).putInt(MIN_BLOCK).putInt(PREFERRED_BLOCK).putInt(maxPayload)
                    .flip();
            reply(option, Nbd.REP_INFO, sizes);
            ack(option);
        } catch (IOException ex) {
            if (option == Nbd.OPT_GO) {
                registry.detach(e.name(), user);
            }
            throw ex;
        }
        return option == Nbd.OPT_GO ? session(e) : null;
    }

    private static ByteBuffer infoString(int type, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(2 + b.length).putShort((short) type).put(b).flip();
    }

    private Session session(Export e) {
        // Contexts chosen for another export do not carry over (BLOCK_STATUS then gets EINVAL).
        List<Session.Selected> selected = e.name().equals(contextsExport) ? contexts : List.of();
        return new Session(e, structured, selected);
    }

    /** A meta context option's data: the export (it exists) and the queries. */
    private record ContextQuery(Export export, List<String> queries) {
    }

    /**
     * Parses LIST_META_CONTEXT or SET_META_CONTEXT data; null when it is malformed or names
     * no export, which is answered here.
     */
    private ContextQuery contextQuery(int option, ByteBuffer data) throws IOException {
        String name = string(data);
        if (name == null || data.remaining() < 4) {
            reply(option, Nbd.REP_ERR_INVALID, "malformed meta context request");
            return null;
        }
        long count = data.getInt() & 0xffffffffL;
        List<String> queries = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            String q = string(data);
            if (q == null) {
                reply(option, Nbd.REP_ERR_INVALID, "malformed meta context query");
                return null;
            }
            queries.add(q);
        }
        if (data.hasRemaining()) {
            reply(option, Nbd.REP_ERR_INVALID, "data after the last meta context query");
            return null;
        }
        Export e = registry.get(name).orElse(null);
        if (e == null) {
            reply(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return null;
        }
        return new ContextQuery(e, queries);
    }

    /** LIST_META_CONTEXT: the names matching each query (every context for none), ids 0. */
    private void listMetaContexts(ByteBuffer data) throws IOException {
        ContextQuery q = contextQuery(Nbd.OPT_LIST_META_CONTEXT, data);
        if (q == null) {
            return;
        }
        Set<String> names = new LinkedHashSet<>();
        if (q.queries().isEmpty()) {
            names.addAll(q.export().contexts().list(""));
        }
        for (String query : q.queries()) {
            names.addAll(q.export().contexts().list(query));
        }
        for (String n : names) {
            reply(Nbd.OPT_LIST_META_CONTEXT, Nbd.REP_META_CONTEXT, contextReply(0, n));
        }
        ack(Nbd.OPT_LIST_META_CONTEXT);
    }

    /**
     * SET_META_CONTEXT: selects the contexts of exactly the names queried, numbered from 1,
     * for a later GO on the same export. It replaces the earlier choice even when it fails.
     */
    private void setMetaContexts(ByteBuffer data) throws IOException {
        contexts = List.of();
        contextsExport = null;
        if (!structured) {
            reply(Nbd.OPT_SET_META_CONTEXT, Nbd.REP_ERR_INVALID, "negotiate structured replies first");
            return;
        }
        ContextQuery q = contextQuery(Nbd.OPT_SET_META_CONTEXT, data);
        if (q == null) {
            return;
        }
        List<Session.Selected> chosen = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (String query : q.queries()) {
            MetaContext c = q.export().contexts().select(query);
            if (c != null && seen.add(c.name())) {
                chosen.add(new Session.Selected(chosen.size() + 1, c));
            }
        }
        if (chosen.size() > MAX_CONTEXTS) {
            reply(Nbd.OPT_SET_META_CONTEXT, Nbd.REP_ERR_TOO_BIG, "at most " + MAX_CONTEXTS + " meta contexts");
            return;
        }
        for (Session.Selected s : chosen) {
            reply(Nbd.OPT_SET_META_CONTEXT, Nbd.REP_META_CONTEXT, contextReply(s.id(), s.context().name()));
        }
        ack(Nbd.OPT_SET_META_CONTEXT);
        contexts = List.copyOf(chosen);
        contextsExport = q.export().name();
    }

    /** A length-prefixed string of option data; null when malformed or too long. */
    private static String string(ByteBuffer data) {
        if (data.remaining() < 4) {
            return null;
        }
        long length = data.getInt() & 0xffffffffL;
        if (length > data.remaining() || length > Nbd.MAX_STRING) {
            return null;
        }
        String s = Wire.decode(data.slice(data.position(), (int) length));
        data.position(data.position() + (int) length);
        return s;
    }

    private static ByteBuffer contextReply(int id, String name) {
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + b.length).putInt(id).put(b).flip();
    }

    private void ack(int option) throws IOException {
        reply(option, Nbd.REP_ACK, (ByteBuffer) null);
    }

    /** An error reply with a message for humans. */
    private void reply(int option, int type, String message) throws IOException {
        reply(option, type, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
    }

    private void reply(int option, int type, ByteBuffer data) throws IOException {
        int length = data == null ? 0 : data.remaining();
        ByteBuffer h = ByteBuffer.allocate(20);
        h.putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(length).flip();
        if (data == null) {
            Wire.writeFully(channel, h);
        } else {
            Wire.writeFully(channel, h, data);
        }
    }
}
