package org.jblksnap.nbd.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantLock;

import org.jblksnap.nbd.protocol.Wire;

/**
 * Sends the replies of one connection, whatever thread finishes them and in whatever order.
 * Replies are queued; whichever thread gets the lock sends everything queued with as few
 * gathering writes as it can, so under load many replies share one system call and no
 * worker waits for another's write. Each write must be over within the request timeout
 * ({@link Deadline}): a client that stops reading its replies is closed, and what its replies
 * held goes back.
 */
final class ReplyWriter {
    private static final int STAGING = 64 << 10;
    private static final int MAX_GATHER = 256;
    private static final int MAX_BATCH = 64;

    private final GatheringByteChannel channel;
    private final Runnable onFailure;
    private final Deadline deadline;
    private final ConcurrentLinkedQueue<Reply> queue = new ConcurrentLinkedQueue<>();
    private final ReentrantLock lock = new ReentrantLock();
    // guarded by lock: what its holder is sending; staging is allocated with the first reply,
    // so a connection still in its handshake holds none
    private ByteBuffer staging;
    private final ByteBuffer[] gather = new ByteBuffer[MAX_GATHER];
    private final List<Reply> batch = new ArrayList<>();
    private int gathered;
    /** A write failed: the connection is closing, later replies are completed unsent. */
    private boolean failed;

    /** @param deadline started and cleared around each write */
    ReplyWriter(GatheringByteChannel channel, Runnable onFailure, Deadline deadline) {
        this.channel = channel;
        this.onFailure = onFailure;
        this.deadline = deadline;
    }

    void send(Reply reply) {
        queue.add(reply);
        // Re-check after unlocking: a reply queued while the holder was finishing is not lost.
        while (!queue.isEmpty() && lock.tryLock()) {
            try {
                drain();
            } finally {
                lock.unlock();
            }
        }
    }

    private void drain() {
        if (staging == null && !failed) {
            try {
                staging = ByteBuffer.allocateDirect(STAGING);
            } catch (OutOfMemoryError e) {
                // Nothing can be sent: the connection closes, its replies give back what they hold.
                fail();
            }
        }
        Reply r;
        while ((r = queue.poll()) != null) {
            if (failed) {
                r.sent();
                continue;
            }
            batch.add(r);
            try {
                add(r);
                if (batch.size() >= MAX_BATCH) {
                    flush();
                }
            } catch (IOException e) {
                fail();
            }
        }
        if (!failed && !batch.isEmpty()) {
            try {
                flush();
            } catch (IOException e) {
                fail();
            }
        }
        completeBatch();
    }

    private void add(Reply r) throws IOException {
        byte[] head = r.head();
        for (int s = 0; s < r.segments(); s++) {
            int start = r.headStart(s);
            int length = r.headEnd(s) - start;
            if (staging.remaining() < length || gathered + 2 > MAX_GATHER) {
                write();
            }
            if (length > staging.capacity()) {
                gather[gathered++] = ByteBuffer.wrap(head, start, length);
            } else if (length > 0) {
                int at = staging.position();
                staging.put(head, start, length);
                gather[gathered++] = staging.slice(at, length);
            }
            ByteBuffer d = r.data(s);
            if (d != null && d.hasRemaining()) {
                gather[gathered++] = d;
            }
        }
    }

    private void flush() throws IOException {
        write();
        completeBatch();
    }

    private void write() throws IOException {
        if (gathered > 0) {
            deadline.start();
            try {
                Wire.writeFully(channel, gather, 0, gathered);
            } finally {
                deadline.clear();
            }
        }
        for (int i = 0; i < gathered; i++) {
            gather[i] = null;
        }
        gathered = 0;
        staging.clear();
    }

    private void completeBatch() {
        for (Reply b : batch) {
            b.sent();
        }
        batch.clear();
    }

    private void fail() {
        failed = true;
        for (int i = 0; i < gathered; i++) {
            gather[i] = null;
        }
        gathered = 0;
        if (staging != null) {
            staging.clear();
        }
        onFailure.run();
    }
}
