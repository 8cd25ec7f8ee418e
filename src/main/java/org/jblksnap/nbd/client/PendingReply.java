package org.jblksnap.nbd.client;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;

import org.jblksnap.nbd.protocol.Names;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.protocol.WireReader;

/**
 * The reply to one request in flight, built from a simple reply or from structured chunks.
 * Every method consumes exactly its part of the stream; a protocol violation is thrown as
 * {@link NbdException} and ends the connection.
 */
abstract sealed class PendingReply<T> permits ReadReply, StatusReply {
    final String command;
    final long offset;
    final long length;
    final CompletableFuture<T> future = new CompletableFuture<>();
    private int errno;
    private String errorMessage;

    PendingReply(String command, long offset, long length) {
        this.command = command;
        this.offset = offset;
        this.length = length;
    }

    /** A simple reply: error 0 means success and any payload follows. */
    abstract void simple(int error, WireReader in) throws IOException;

    /** One structured chunk with its payload length. */
    final void chunk(int type, int payload, WireReader in) throws IOException {
        if ((type & Nbd.REPLY_TYPE_FLAG_ERROR) != 0) {
            errorChunk(type, payload, in);
        } else if (type == Nbd.REPLY_TYPE_NONE) {
            if (payload != 0) {
                throw violation(Names.replyType(type) + " with a payload");
            }
        } else {
            content(type, payload, in);
        }
    }

    /** A chunk type particular to the command. */
    abstract void content(int type, int payload, WireReader in) throws IOException;

    /** The final chunk arrived: complete the future with the result or the error. */
    final void done() {
        if (errno != 0) {
            future.completeExceptionally(new NbdCommandException(describe(), errno, errorMessage));
            return;
        }
        try {
            future.complete(result());
        } catch (NbdException e) {
            future.completeExceptionally(e);
        }
    }

    /** The result once every chunk arrived without an error chunk. */
    abstract T result() throws NbdException;

    final void fail(Throwable t) {
        future.completeExceptionally(t);
    }

    final void failWith(int error) {
        future.completeExceptionally(new NbdCommandException(describe(), error, null));
    }

    final String describe() {
        return command + " " + offset + "+" + length;
    }

    final NbdException violation(String what) {
        return new NbdException(describe() + ": " + what);
    }

    private void errorChunk(int type, int payload, WireReader in) throws IOException {
        if (payload < 6) {
            throw violation("error chunk of " + payload + " bytes");
        }
        int error = in.readInt();
        int msgLen = in.readShort();
        if (msgLen > payload - 6) {
            throw violation("error message longer than its chunk");
        }
        String msg = in.readString(msgLen);
        in.skip(payload - 6 - msgLen);
        if (errno == 0) {
            // an unknown error type still fails the request (its bit 15 says so)
            errno = error != 0 ? error : Nbd.EIO;
            errorMessage = type == Nbd.REPLY_TYPE_ERROR || type == Nbd.REPLY_TYPE_ERROR_OFFSET ? msg
                    : "unknown error " + Names.replyType(type) + (msg.isEmpty() ? "" : ": " + msg);
        }
    }
}
