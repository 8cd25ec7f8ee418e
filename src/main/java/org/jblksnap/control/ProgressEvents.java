package org.jblksnap.control;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.backup.Progress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A {@link Progress} carried over the control socket as events (docs/CONTROL.md, "Events"): the
 * daemon's side ({@link #ProgressEvents}) sends {@code start}, {@code note} and {@code finish}
 * as they come, the bytes of {@code advance} summed once a second, and {@code alive} when a
 * second passed without any, so that a client that is gone is noticed within a second even
 * while the run waits; the client's side ({@link #replay}) plays them into its console
 * progress. When a send fails the client is gone: {@code onGone} runs once (it cancels the run)
 * and later calls send nothing.
 */
public final class ProgressEvents implements Progress, AutoCloseable {
    private static final long TICK_MILLIS = 1000;

    private final ControlEvents events;
    private final Runnable onGone;
    private final AtomicLong pending = new AtomicLong();
    private final Thread ticker;
    /** Held while an event is written, and by close. */
    private final Object sending = new Object();
    private volatile boolean gone;
    private volatile boolean closed;

    public ProgressEvents(ControlEvents events, Runnable onGone) {
        this.events = events;
        this.onGone = onGone;
        this.ticker = Thread.ofVirtual().name("progress-events").start(this::tick);
    }

    private void tick() {
        while (true) {
            synchronized (this) {
                long until = System.nanoTime() + TICK_MILLIS * 1_000_000;
                long left;
                while (!closed && !gone && (left = until - System.nanoTime()) > 0) {
                    try {
                        wait(Math.max(1, left / 1_000_000));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed || gone) {
                    return;
                }
            }
            long n = pending.getAndSet(0);
            send(n > 0 ? event("advance").put("bytes", n) : event("alive"));
        }
    }

    private static ObjectNode event(String type) {
        return ControlProtocol.JSON.createObjectNode().put("type", type);
    }

    /**
     * One event; sends are serialized with {@link #close} so that none goes after it (the
     * verb's reply follows). Never from an interrupted thread: an interrupt of a thread in a
     * channel write closes the channel, the reply with it. So the ticker is woken, not
     * interrupted, and a caller that is interrupted (a run being cancelled) sends nothing.
     */
    private void send(ObjectNode e) {
        synchronized (sending) {
            if (gone || closed || Thread.currentThread().isInterrupted()) {
                return;
            }
            try {
                events.send(e);
                return;
            } catch (IOException x) {
                gone = true;
            }
        }
        onGone.run();
    }

    /** Whether the client went away. */
    public boolean clientGone() {
        return gone;
    }

    @Override
    public void start(String what, long totalBytes) {
        send(event("start").put("what", what).put("total", totalBytes));
    }

    @Override
    public void advance(long bytes) {
        pending.addAndGet(bytes);
    }

    @Override
    public void note(String line) {
        send(event("note").put("line", line));
    }

    @Override
    public void finish() {
        long n = pending.getAndSet(0);
        if (n > 0) {
            send(event("advance").put("bytes", n));
        }
        send(event("finish"));
    }

    @Override
    public void close() {
        synchronized (sending) {
            closed = true;
        }
        synchronized (this) {
            notifyAll();
        }
    }

    /** Plays one event the daemon sent into a local progress; unknown events are ignored. */
    public static void replay(JsonNode event, Progress to) {
        switch (event.path("type").asText()) {
            case "start" -> to.start(event.path("what").asText(), event.path("total").asLong());
            case "advance" -> to.advance(event.path("bytes").asLong());
            case "note" -> to.note(event.path("line").asText());
            case "finish" -> to.finish();
            default -> {
            }
        }
    }
}
