package org.jblksnap.nbd.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.TreeMap;

import org.jblksnap.nbd.protocol.Names;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.protocol.WireReader;

/**
 * A READ in flight: data chunks go straight into the caller's buffer, holes are zero-filled,
 * and success needs the whole range covered exactly once.
 */
final class ReadReply extends PendingReply<Void> {
    private final ByteBuffer dst;
    /** Ranges covered so far, start to end, relative to the request. */
    private final TreeMap<Long, Long> covered = new TreeMap<>();
    private long coveredBytes;

    ReadReply(long offset, ByteBuffer dst) {
        super(Names.command(Nbd.CMD_READ), offset, dst.remaining());
        this.dst = dst;
    }

    @Override
    void simple(int error, WireReader in) throws IOException {
        if (error != 0) {
            failWith(error);
            return;
        }
        in.readFully(dst.duplicate());
        future.complete(null);
    }

    @Override
    void content(int type, int payload, WireReader in) throws IOException {
        if (type == Nbd.REPLY_TYPE_OFFSET_DATA) {
            if (payload < 9) {
                throw violation("data chunk of " + payload + " bytes");
            }
            long at = in.readLong();
            int n = payload - 8;
            int rel = claim(at, n);
            in.readFully(dst.slice(dst.position() + rel, n));
        } else if (type == Nbd.REPLY_TYPE_OFFSET_HOLE) {
            if (payload != 12) {
                throw violation("hole chunk of " + payload + " bytes");
            }
            long at = in.readLong();
            int n = in.readInt();
            if (n == 0) {
                throw violation("empty hole chunk");
            }
            int rel = claim(at, Integer.toUnsignedLong(n));
            ByteBuffer hole = dst.slice(dst.position() + rel, n);
            while (hole.hasRemaining()) {
                hole.put((byte) 0);
            }
        } else {
            throw violation("unexpected " + Names.replyType(type));
        }
    }

    /** Checks a content chunk lies in the request and overlaps nothing earlier. */
    private int claim(long at, long n) throws NbdException {
        long rel = at - offset;
        if (at < offset || n > length || rel > length - n) {
            throw violation("chunk " + at + "+" + n + " outside the request");
        }
        Map.Entry<Long, Long> before = covered.floorEntry(rel);
        Long after = covered.ceilingKey(rel);
        if ((before != null && before.getValue() > rel) || (after != null && after < rel + n)) {
            throw violation("chunk " + at + "+" + n + " overlaps an earlier one");
        }
        covered.put(rel, rel + n);
        coveredBytes += n;
        return (int) rel;
    }

    @Override
    Void result() throws NbdException {
        if (coveredBytes != length) {
            throw violation("success claimed after " + coveredBytes + " of " + length + " bytes");
        }
        return null;
    }
}
