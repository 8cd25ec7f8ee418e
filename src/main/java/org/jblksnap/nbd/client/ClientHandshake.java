package org.jblksnap.nbd.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;

import org.jblksnap.nbd.protocol.Names;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.protocol.Wire;
import org.jblksnap.nbd.protocol.WireReader;
import org.jblksnap.nbd.tls.NbdChannel;

/**
 * The client side of the fixed newstyle negotiation: greeting, options and their replies, up
 * to the transmission phase (OPT_GO, or OPT_EXPORT_NAME for a server without it).
 */
final class ClientHandshake {
    /** Longest option reply accepted; real ones are a few hundred bytes. */
    private static final int MAX_REPLY = 1 << 20;

    private final WireReader in;
    private final GatheringByteChannel out;
    private boolean noZeroes;

    ClientHandshake(WireReader in, GatheringByteChannel out) {
        this.in = in;
        this.out = out;
    }

    /** Reads the server greeting and answers with the client flags. */
    void greet() throws IOException {
        long magic = in.readLong();
        long opt = in.readLong();
        if (magic != Nbd.NBDMAGIC) {
            throw new NbdException("not an NBD server (bad greeting magic)");
        }
        if (opt != Nbd.IHAVEOPT) {
            throw new NbdException("the server speaks oldstyle NBD only; fixed newstyle is required");
        }
        int flags = in.readShort();
        if ((flags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
            throw new NbdException("the server does not offer fixed newstyle negotiation");
        }
        noZeroes = (flags & Nbd.FLAG_NO_ZEROES) != 0;
        int clientFlags = Nbd.FLAG_C_FIXED_NEWSTYLE | (noZeroes ? Nbd.FLAG_C_NO_ZEROES : 0);
        Wire.writeFully(out, ByteBuffer.allocate(4).putInt(clientFlags).flip());
    }

    /**
     * STARTTLS as the first option, then the TLS handshake: everything after it, the rest of
     * the haggling included, is inside TLS. A server that refuses is left at once (a client
     * that wants TLS must not go on in the clear, or a man in the middle could strip it).
     */
    void startTls(NbdChannel channel, SSLEngine engine) throws IOException {
        sendOption(Nbd.OPT_STARTTLS, ByteBuffer.allocate(0));
        Reply r = readReply(Nbd.OPT_STARTTLS);
        if (r.type != Nbd.REP_ACK) {
            throw isError(r.type) ? refused(r, "the NBD server refused TLS") : unexpected(r, Nbd.OPT_STARTTLS);
        }
        if (in.buffered() > 0) {
            throw new NbdException("the NBD server sent data before the TLS handshake");
        }
        try {
            channel.startTls(engine);
        } catch (SSLException e) {
            throw new NbdException("TLS handshake with the NBD server failed: " + e.getMessage(), e);
        }
    }

    /** Asks for structured replies; false when the server does not do them. */
    boolean structuredReplies() throws IOException {
        sendOption(Nbd.OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
        Reply r = readReply(Nbd.OPT_STRUCTURED_REPLY);
        if (r.type == Nbd.REP_ACK) {
            return true;
        }
        if (isError(r.type)) {
            return false;
        }
        throw unexpected(r, Nbd.OPT_STRUCTURED_REPLY);
    }

    /**
     * OPT_LIST_META_CONTEXT or OPT_SET_META_CONTEXT: the contexts the server matched to the
     * queries, name to id (ids are meaningful only for SET). A server without metadata
     * contexts gives an empty map.
     */
    Map<String, Integer> metaContexts(int option, String export, List<String> queries) throws IOException {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        byte[][] qs = queries.stream().map(q -> q.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
        int len = 4 + name.length + 4;
        for (byte[] q : qs) {
            len += 4 + q.length;
        }
        ByteBuffer data = ByteBuffer.allocate(len).putInt(name.length).put(name).putInt(qs.length);
        for (byte[] q : qs) {
            data.putInt(q.length).put(q);
        }
        sendOption(option, data.flip());
        Map<String, Integer> found = new LinkedHashMap<>();
        while (true) {
            Reply r = readReply(option);
            if (r.type == Nbd.REP_ACK) {
                return found;
            }
            if (r.type == Nbd.REP_META_CONTEXT) {
                if (r.data.remaining() < 4) {
                    throw new NbdException("short meta context reply");
                }
                int id = r.data.getInt();
                found.put(StandardCharsets.UTF_8.decode(r.data).toString(), id);
            } else if (r.type == Nbd.REP_ERR_UNSUP) {
                return Map.of();
            } else if (isError(r.type)) {
                throw refused(r, Names.option(option));
            } else {
                throw unexpected(r, option);
            }
        }
    }

    /**
     * Enters transmission on an export, asking for its block sizes. Falls back to
     * OPT_EXPORT_NAME when the server does not know OPT_GO.
     */
    ExportInfo go(String export, boolean structured, Map<String, Integer> contexts, Set<String> listed)
            throws IOException {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(4 + name.length + 2 + 2)
                .putInt(name.length).put(name).putShort((short) 1).putShort((short) Nbd.INFO_BLOCK_SIZE);
        sendOption(Nbd.OPT_GO, data.flip());
        long size = -1;
        int flags = 0;
        BlockSizes sizes = BlockSizes.DEFAULT;
        while (true) {
            Reply r = readReply(Nbd.OPT_GO);
            if (r.type == Nbd.REP_ACK) {
                break;
            }
            if (r.type == Nbd.REP_ERR_UNSUP) {
                return exportName(name, export, structured, contexts, listed);
            }
            if (isError(r.type)) {
                throw refused(r, "opening export '" + export + "'");
            }
            if (r.type != Nbd.REP_INFO || r.data.remaining() < 2) {
                throw unexpected(r, Nbd.OPT_GO);
            }
            int info = Short.toUnsignedInt(r.data.getShort());
            if (info == Nbd.INFO_EXPORT) {
                if (r.data.remaining() < 10) {
                    throw new NbdException("short " + Names.info(info));
                }
                size = r.data.getLong();
                flags = Short.toUnsignedInt(r.data.getShort());
            } else if (info == Nbd.INFO_BLOCK_SIZE) {
                if (r.data.remaining() < 12) {
                    throw new NbdException("short " + Names.info(info));
                }
                sizes = new BlockSizes(r.data.getInt(), r.data.getInt(), r.data.getInt());
            }
            // other information (name, description) is not needed
        }
        if (size < 0) {
            throw new NbdException("the server finished OPT_GO without " + Names.info(Nbd.INFO_EXPORT));
        }
        return new ExportInfo(export, size, flags, sizes, structured, contexts, listed);
    }

    private ExportInfo exportName(byte[] name, String export, boolean structured, Map<String, Integer> contexts,
            Set<String> listed) throws IOException {
        sendOption(Nbd.OPT_EXPORT_NAME, ByteBuffer.wrap(name));
        long size = in.readLong();
        int flags = in.readShort();
        if (!noZeroes) {
            in.skip(124);
        }
        return new ExportInfo(export, size, flags, BlockSizes.DEFAULT, structured, contexts, listed);
    }

    /** Ends the negotiation politely (the server may or may not answer). */
    void abort() throws IOException {
        sendOption(Nbd.OPT_ABORT, ByteBuffer.allocate(0));
    }

    private record Reply(int type, ByteBuffer data) {
    }

    private void sendOption(int option, ByteBuffer data) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(16).putLong(Nbd.IHAVEOPT).putInt(option).putInt(data.remaining()).flip();
        Wire.writeFully(out, head, data);
    }

    private Reply readReply(int option) throws IOException {
        long magic = in.readLong();
        int opt = in.readInt();
        int type = in.readInt();
        int len = in.readInt();
        if (magic != Nbd.OPTION_REPLY_MAGIC) {
            throw new NbdException("bad option reply magic");
        }
        if (opt != option) {
            throw new NbdException("reply for " + Names.option(opt) + " while waiting for " + Names.option(option));
        }
        if (len < 0 || len > MAX_REPLY) {
            throw new NbdException("option reply of " + Integer.toUnsignedString(len) + " bytes is too long");
        }
        return new Reply(type, ByteBuffer.wrap(in.readBytes(len)));
    }

    private static boolean isError(int type) {
        return (type & Nbd.REP_FLAG_ERROR) != 0;
    }

    private static NbdException refused(Reply r, String what) {
        String msg = StandardCharsets.UTF_8.decode(r.data).toString();
        return new NbdException(what + ": " + Names.refusal(r.type) + (msg.isEmpty() ? "" : " (" + msg + ")"));
    }

    private static NbdException unexpected(Reply r, int option) {
        return new NbdException("unexpected " + Names.optionReply(r.type) + " to " + Names.option(option));
    }
}
