package org.jblksnap.cow;

import java.io.IOException;

import org.jblksnap.error.Errno;

/**
 * Whether copy-on-write still works for a snapshot, shared by the chunk maps of all its
 * devices (they share one difference storage, so one overflow loses them all).
 *
 * <p>The first failure wins and is reported once; from then on COW is off (device writes go
 * straight through) and every image I/O fails. Both sides test the one volatile field, so a
 * writer that skips COW has necessarily made the failure visible to image readers first.
 */
public final class CowHealth {
    /** Told once, on the first failure. */
    public interface Listener {
        void failed(String device, Errno errno, IOException cause);
    }

    private final Listener listener;
    private volatile Errno error;

    public CowHealth(Listener listener) {
        this.listener = listener;
    }

    public boolean ok() {
        return error == null;
    }

    /** The failure, or null while healthy. */
    public Errno error() {
        return error;
    }

    void fail(String device, Errno errno, IOException cause) {
        synchronized (this) {
            if (error != null) {
                return;
            }
            error = errno;
        }
        listener.failed(device, errno, cause);
    }
}
