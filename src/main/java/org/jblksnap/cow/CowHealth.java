package org.jblksnap.cow;

import java.io.IOException;

import org.jblksnap.error.Errno;

/**
 * Whether copy-on-write still works for one device of a snapshot (blksnap's per-device
 * corruption of its diff area): a failed copy loses that device's image only; another device
 * of the snapshot fails only when one of its own copies fails (after an overflow of the shared
 * storage, its next copy does).
 *
 * <p>The first failure wins and is reported once; from then on COW is off for the device
 * (its writes go straight through) and every I/O of its image fails. Both sides test the one
 * volatile field, so a writer that skips COW has necessarily made the failure visible to image
 * readers first.
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
