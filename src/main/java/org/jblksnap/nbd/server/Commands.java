package org.jblksnap.nbd.server;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.device.BlockIo;
import org.jblksnap.error.Errno;
import org.jblksnap.nbd.protocol.Names;
import org.jblksnap.nbd.protocol.Nbd;

/**
 * The transmission commands of one session, each turned into a {@link Reply}. Requests are
 * checked before anything is touched, so a refused request changes nothing: flags first
 * (EINVAL), then read-only (EPERM), then alignment (EINVAL) and range (ENOSPC for writes
 * past the end, EINVAL otherwise).
 */
final class Commands {
    private static final Logger LOG = Logger.getLogger(Commands.class.getName());
    private static final int SECTOR = 512;
    /** Granularity of zero detection in structured reads. */
    private static final int HOLE_GRANULE = 4096;
    /** At most this many content chunks per read; the rest goes as one data chunk. */
    private static final int MAX_READ_CHUNKS = 64;
    private static final int ZERO_SIZE = 1 << 20;
    /**
     * Extent descriptors in one BLOCK_STATUS reply, all its contexts together (8 bytes each,
     * so about 512 KiB): the reply and the arrays behind it stay small whatever the range,
     * the fragmentation and the number of contexts; a client asks again from where it ended.
     */
    static final int MAX_REPLY_DESCRIPTORS = 1 << 16;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(ZERO_SIZE).asReadOnlyBuffer();
    private static final MemorySegment ZERO_SEGMENT = MemorySegment.ofBuffer(ZEROES);

    private final Session session;
    private final BlockIo io;
    private final long capacity;
    private final BufferPool pool;
    private final int maxPayload;
    /** How long a read waits for the server's payload budget before it fails with ENOMEM. */
    private final long bufferWaitMillis;

    Commands(Session session, BufferPool pool, int maxPayload, long bufferWaitMillis) {
        this.session = session;
        this.io = session.export().io();
        this.capacity = io.capacity();
        this.pool = pool;
        this.maxPayload = maxPayload;
        this.bufferWaitMillis = bufferWaitMillis;
    }

    /**
     * Runs a request; never throws, every failure becomes an error reply. Memory running out
     * (OutOfMemoryError: heap, direct memory, native threads) is ENOMEM for this request, and
     * whatever the request held is given back by its caller as for any other reply.
     */
    Reply execute(Request r) {
        try {
            return switch (r.type()) {
                case Nbd.CMD_READ -> read(r);
                case Nbd.CMD_WRITE -> write(r);
                case Nbd.CMD_FLUSH -> flush(r);
                case Nbd.CMD_TRIM -> trim(r);
                case Nbd.CMD_CACHE -> cache(r);
                case Nbd.CMD_WRITE_ZEROES -> writeZeroes(r);
                case Nbd.CMD_BLOCK_STATUS -> blockStatus(r);
                default -> throw new RefusedRequestException(Nbd.EINVAL, "unknown command " + r.type());
            };
        } catch (RefusedRequestException e) {
            return error(r, e.error(), e.getMessage());
        } catch (IOException | RuntimeException e) {
            int error = errorOf(e);
            if (error == Nbd.EIO) {
                LOG.log(Level.WARNING, session.export().name() + ": " + r.describe() + " failed", e);
            }
            return error(r, error, e.getMessage());
        } catch (OutOfMemoryError e) {
            LOG.log(Level.WARNING, session.export().name() + ": " + r.describe() + " ran out of memory", e);
            return error(r, Nbd.ENOMEM, "out of memory: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(r, Nbd.ESHUTDOWN, "the server is stopping");
        }
    }

    /** An error reply in the style the client negotiated. */
    Reply error(Request r, int error, String message) {
        return session.structured() ? Reply.structuredError(r.cookie(), error, message) : Reply.simple(r.cookie(), error);
    }

    /**
     * The NBD error for a failure: the engine's errno ({@link Errno#of}) turned into the
     * nearest of the few the protocol has. A device detached or an image destroyed is
     * ESHUTDOWN, which tells the client its export is going away.
     */
    static int errorOf(Throwable e) {
        return switch (Errno.of(e)) {
            case EPERM, EROFS, EACCES -> Nbd.EPERM;
            case ENOMEM -> Nbd.ENOMEM;
            case EINVAL -> Nbd.EINVAL;
            case ENOSPC, EDQUOT, EFBIG -> Nbd.ENOSPC;
            case EOVERFLOW -> Nbd.EOVERFLOW;
            case ENOTSUP -> Nbd.ENOTSUP;
            case ESHUTDOWN, ENODEV -> Nbd.ESHUTDOWN;
            default -> Nbd.EIO;
        };
    }

    private Reply read(Request r) throws IOException, RefusedRequestException, InterruptedException {
        checkFlags(r, Nbd.CMD_FLAG_FUA | (session.structured() ? Nbd.CMD_FLAG_DF : 0));
        checkRange(r, Nbd.EINVAL);
        if (r.length() > maxPayload) {
            throw new RefusedRequestException(session.structured() ? Nbd.EOVERFLOW : Nbd.EINVAL,
                    "read of " + r.length() + " bytes is above the maximum payload of " + maxPayload);
        }
        int length = (int) r.length();
        if (length == 0) {
            return session.structured() ? Reply.done(r.cookie()) : Reply.simple(r.cookie(), 0);
        }
        ByteBuffer buf = pool.acquire(length, bufferWaitMillis);
        try {
            io.read(r.offset(), buf);
            buf.flip();
        } catch (Throwable e) {
            pool.release(buf);
            throw e;
        }
        Reply reply = session.structured()
                ? structuredRead(r.cookie(), r.offset(), buf, (r.flags() & Nbd.CMD_FLAG_DF) != 0)
                : Reply.simpleData(r.cookie(), buf);
        reply.whenSent(() -> pool.release(buf));
        return reply;
    }

    /**
     * Content chunks for data read into buf: runs of zeroes of whole 4 KiB granules (aligned
     * on the export) go as holes, the rest as data. The last chunk carries DONE: everything
     * was read before the first byte is sent, so no error can follow.
     */
    private static Reply structuredRead(long cookie, long offset, ByteBuffer buf, boolean dontFragment) {
        int length = buf.remaining();
        Reply reply = new Reply();
        if (dontFragment) {
            dataChunk(reply, cookie, offset, buf, 0, length, true);
            return reply;
        }
        // Made when a granule's first 8 bytes are zero, which most data granules' are not.
        MemorySegment seg = null;
        int runStart = 0;
        boolean runZero = false;
        int chunks = 0;
        int p = 0;
        while (p < length) {
            int end = Math.min(length, p + HOLE_GRANULE - (int) ((offset + p) & (HOLE_GRANULE - 1)));
            // Most data granules start with a non-zero byte: checking 8 bytes settles those.
            boolean zero = false;
            if (buf.getLong(p) == 0) {
                if (seg == null) {
                    seg = MemorySegment.ofBuffer(buf);
                }
                zero = MemorySegment.mismatch(seg, p, end, ZERO_SEGMENT, 0, end - p) < 0;
            }
            if (p == 0) {
                runZero = zero;
            } else if (zero != runZero) {
                if (chunks == MAX_READ_CHUNKS - 1) {
                    // Enough chunks: the rest goes as one data chunk.
                    runZero = false;
                    break;
                }
                chunk(reply, cookie, offset, buf, runStart, p, runZero, false);
                chunks++;
                runStart = p;
                runZero = zero;
            }
            p = end;
        }
        chunk(reply, cookie, offset, buf, runStart, length, runZero, true);
        return reply;
    }

    private static void chunk(Reply reply, long cookie, long offset, ByteBuffer buf, int from, int to, boolean zero,
            boolean last) {
        if (zero) {
            reply.chunkHeader(last ? Nbd.REPLY_FLAG_DONE : 0, Nbd.REPLY_TYPE_OFFSET_HOLE, cookie, 12);
            reply.putLong(offset + from);
            reply.putInt(to - from);
            reply.endSegment(null);
        } else {
            dataChunk(reply, cookie, offset, buf, from, to - from, last);
        }
    }

    private static void dataChunk(Reply reply, long cookie, long offset, ByteBuffer buf, int from, int length,
            boolean last) {
        reply.chunkHeader(last ? Nbd.REPLY_FLAG_DONE : 0, Nbd.REPLY_TYPE_OFFSET_DATA, cookie, 8 + length);
        reply.putLong(offset + from);
        reply.endSegment(buf.slice(buf.position() + from, length));
    }

    private Reply write(Request r) throws IOException, RefusedRequestException {
        checkFlags(r, Nbd.CMD_FLAG_FUA);
        checkWritable(r);
        checkRange(r, Nbd.ENOSPC);
        if (r.length() > 0) {
            io.write(r.offset(), r.payload());
            fua(r);
        }
        return ok(r);
    }

    private Reply flush(Request r) throws IOException, RefusedRequestException {
        checkFlags(r, Nbd.CMD_FLAG_FUA);
        if (r.offset() != 0 || r.length() != 0) {
            throw new RefusedRequestException(Nbd.EINVAL, "FLUSH must have offset and length 0");
        }
        io.flush();
        return ok(r);
    }

    /** TRIM is only a hint: nothing is discarded (the data stays readable as it was). */
    private Reply trim(Request r) throws RefusedRequestException {
        checkFlags(r, Nbd.CMD_FLAG_FUA);
        checkWritable(r);
        checkRange(r, Nbd.EINVAL);
        return ok(r);
    }

    /** CACHE reads the range and drops it, so it sits in the page cache for the reads to come. */
    private Reply cache(Request r) throws IOException, RefusedRequestException, InterruptedException {
        checkFlags(r, Nbd.CMD_FLAG_FUA);
        checkRange(r, Nbd.EINVAL);
        if (r.length() > 0) {
            int piece = (int) Math.min(r.length(), ZERO_SIZE);
            ByteBuffer buf = pool.acquire(piece, bufferWaitMillis);
            try {
                for (long done = 0; done < r.length(); done += piece) {
                    buf.clear().limit((int) Math.min(piece, r.length() - done));
                    io.read(r.offset() + done, buf);
                }
            } finally {
                pool.release(buf);
            }
        }
        return ok(r);
    }

    /**
     * Zeroes are written like data, through the tracker or the image (so CBT and COW see
     * them); that is never faster than a WRITE, so FAST_ZERO fails at once with ENOTSUP.
     */
    private Reply writeZeroes(Request r) throws IOException, RefusedRequestException {
        checkFlags(r, Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_FAST_ZERO);
        checkWritable(r);
        checkRange(r, Nbd.ENOSPC);
        if ((r.flags() & Nbd.CMD_FLAG_FAST_ZERO) != 0) {
            throw new RefusedRequestException(Nbd.ENOTSUP, "zeroes are written like data here, never faster");
        }
        for (long done = 0; done < r.length(); ) {
            int n = (int) Math.min(ZERO_SIZE, r.length() - done);
            io.write(r.offset() + done, ZEROES.duplicate().limit(n));
            done += n;
        }
        if (r.length() > 0) {
            fua(r);
        }
        return ok(r);
    }

    private Reply blockStatus(Request r) throws IOException, RefusedRequestException {
        checkFlags(r, Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_REQ_ONE);
        if (session.contexts().isEmpty()) {
            throw new RefusedRequestException(Nbd.EINVAL, "no meta context was selected in the handshake");
        }
        checkRange(r, Nbd.EINVAL);
        if (r.length() == 0) {
            throw new RefusedRequestException(Nbd.EINVAL, "BLOCK_STATUS of length 0");
        }
        boolean one = (r.flags() & Nbd.CMD_FLAG_REQ_ONE) != 0;
        Reply reply = new Reply();
        int n = session.contexts().size();
        int perContext = one ? 1 : Math.max(1, MAX_REPLY_DESCRIPTORS / n);
        for (int i = 0; i < n; i++) {
            Session.Selected s = session.contexts().get(i);
            Extents ext = new Extents(r.length(), perContext);
            s.context().extents(r.offset(), r.length(), ext);
            if (ext.count() == 0) {
                throw new IOException("meta context " + s.context().name() + " described nothing");
            }
            reply.chunkHeader(i == n - 1 ? Nbd.REPLY_FLAG_DONE : 0, Nbd.REPLY_TYPE_BLOCK_STATUS, r.cookie(),
                    4 + 8 * ext.count());
            reply.putInt(s.id());
            for (int e = 0; e < ext.count(); e++) {
                reply.putInt((int) ext.length(e));
                reply.putInt(ext.flags(e));
            }
            reply.endSegment(null);
        }
        return reply;
    }

    private Reply ok(Request r) {
        return Reply.simple(r.cookie(), 0);
    }

    private void fua(Request r) throws IOException {
        if ((r.flags() & Nbd.CMD_FLAG_FUA) != 0) {
            io.flush();
        }
    }

    private static void checkFlags(Request r, int allowed) throws RefusedRequestException {
        if ((r.flags() & ~allowed) != 0) {
            throw new RefusedRequestException(Nbd.EINVAL, "flags 0x" + Integer.toHexString(r.flags()) + " are not valid for "
                    + Names.command(r.type()));
        }
    }

    private void checkWritable(Request r) throws RefusedRequestException {
        if (session.export().readOnly()) {
            throw new RefusedRequestException(Nbd.EPERM, "export " + session.export().name() + " is read-only");
        }
    }

    private void checkRange(Request r, int pastEnd) throws RefusedRequestException {
        if (((r.offset() | r.length()) & (SECTOR - 1)) != 0) {
            throw new RefusedRequestException(Nbd.EINVAL, "offset and length must be multiples of " + SECTOR);
        }
        if (Long.compareUnsigned(r.offset(), capacity) > 0 || r.length() > capacity - r.offset()) {
            throw new RefusedRequestException(pastEnd, "range " + Long.toUnsignedString(r.offset()) + "+" + r.length()
                    + " is past the end of the export (" + capacity + " bytes)");
        }
    }
}
