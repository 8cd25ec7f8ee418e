package org.jblksnap.snapshot;

import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** The FIFO of one snapshot's events; wait returns the oldest or times out. */
public final class EventQueue {
    private final LinkedBlockingQueue<SnapshotEvent> events = new LinkedBlockingQueue<>();

    void add(SnapshotEvent event) {
        events.add(event);
    }

    /** The oldest event, waiting up to timeoutMs for one; empty on timeout. */
    public Optional<SnapshotEvent> waitEvent(long timeoutMs) throws InterruptedException {
        return Optional.ofNullable(events.poll(Math.max(0, timeoutMs), TimeUnit.MILLISECONDS));
    }
}
