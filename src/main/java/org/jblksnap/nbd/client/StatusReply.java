package org.jblksnap.nbd.client;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jblksnap.nbd.protocol.Names;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.protocol.WireReader;

/** A BLOCK_STATUS in flight: one descriptor list per selected metadata context. */
final class StatusReply extends PendingReply<Map<String, List<Extent>>> {
    private final Map<Integer, String> contextNames;
    private final Map<String, List<Extent>> extents = new HashMap<>();

    StatusReply(long offset, long length, Map<Integer, String> contextNames) {
        super(Names.command(Nbd.CMD_BLOCK_STATUS), offset, length);
        this.contextNames = contextNames;
    }

    @Override
    void simple(int error, WireReader in) throws IOException {
        if (error == 0) {
            throw violation("simple reply without block status");
        }
        failWith(error);
    }

    @Override
    void content(int type, int payload, WireReader in) throws IOException {
        if (type != Nbd.REPLY_TYPE_BLOCK_STATUS) {
            throw violation("unexpected " + Names.replyType(type));
        }
        if (payload < 12 || (payload - 4) % 8 != 0) {
            throw violation("block status chunk of " + payload + " bytes");
        }
        int id = in.readInt();
        String name = contextNames.get(id);
        if (name == null) {
            throw violation("block status for unknown context id " + id);
        }
        if (extents.containsKey(name)) {
            throw violation("two block status chunks for " + name);
        }
        List<Extent> list = new ArrayList<>((payload - 4) / 8);
        long pos = offset;
        long end = offset + length;
        for (int i = 0; i < (payload - 4) / 8; i++) {
            long len = Integer.toUnsignedLong(in.readInt());
            int flags = in.readInt();
            if (len == 0) {
                throw violation("zero-length extent in " + name);
            }
            if (pos < end) {
                // a server may describe beyond the request; keep what was asked
                list.add(new Extent(pos, Math.min(len, end - pos), flags));
            }
            pos += len;
        }
        extents.put(name, list);
    }

    @Override
    Map<String, List<Extent>> result() throws NbdException {
        for (String name : contextNames.values()) {
            if (!extents.containsKey(name)) {
                throw violation("no block status for " + name);
            }
        }
        return extents;
    }
}
