package org.jblksnap.snapshot;

import java.time.Instant;

import org.jblksnap.error.Errno;

/** An event of a snapshot (blksnap's event_queue.c). */
public sealed interface SnapshotEvent {
    Instant time();

    /** The code `snapshot_waitevent` prints as event=. */
    String code();

    /** The difference storage is at its limit and runs low; it asks for this many sectors. */
    record NoSpace(Instant time, long requestedSectors) implements SnapshotEvent {
        @Override
        public String code() {
            return "no_space";
        }
    }

    /** The snapshot is lost: COW failed on this device with this error. */
    record Corrupted(Instant time, String device, Errno errno) implements SnapshotEvent {
        @Override
        public String code() {
            return "corrupted";
        }
    }
}
