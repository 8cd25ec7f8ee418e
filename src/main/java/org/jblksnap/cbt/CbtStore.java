package org.jblksnap.cbt;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Where CBT maps outlive the process that tracks them (blksnap cannot do this: its maps die
 * with the module). The contract that keeps CBT from under-reporting across restarts:
 * <ul>
 * <li>maps are kept by the device's identity, not by the name it was attached under: a save
 * under any name replaces the device's map, and {@link #claim} under any name finds it;</li>
 * <li>{@link #claim} hands back a saved map only if the last stop saved it cleanly, the device
 * is the same size, and nothing can have written the device since (the rule for files and for
 * block devices is in docs/STATE.md); it always removes every saved copy of the device, so a
 * crash from here on finds nothing and the next start begins a new generation;</li>
 * <li>{@link #save} runs only after the device's writes are drained and flushed.</li>
 * </ul>
 */
public interface CbtStore {
    /** The saved map of this device, or null (with the reason logged) when it cannot be trusted. */
    CbtState claim(String name, Path path, long capacity, int blockShift) throws IOException;

    /**
     * Saves the map at a clean stop of the device. trackedUntil is a time at which every write
     * so far had passed the tracker: a change to the device's file stamped no later than that
     * (within the clock's granularity) could hide a later one.
     */
    void save(String name, Path path, CbtState state, Instant trackedUntil) throws IOException;

    /**
     * Called before the device is closed, once its writes stop: waits until a change to the
     * device would show in its timestamps (their granularity past its last change, at most a
     * few seconds), so a clean save is not racy. Returns that moment, the trackedUntil of
     * {@link #save}.
     */
    Instant settle(Path path) throws IOException;

    /** A store that keeps nothing: every attach starts a new generation. */
    CbtStore NONE = new CbtStore() {
        @Override
        public CbtState claim(String name, Path path, long capacity, int blockShift) {
            return null;
        }

        @Override
        public Instant settle(Path path) {
            return Instant.now();
        }

        @Override
        public void save(String name, Path path, CbtState state, Instant trackedUntil) {
        }
    };
}
