package org.jblksnap.cbt;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Where CBT maps outlive the process that tracks them (blksnap cannot do this: its maps die
 * with the module). The contract that keeps CBT from under-reporting across restarts:
 * <ul>
 * <li>{@link #claim} hands back a saved map only if the last stop saved it cleanly and the
 * device is the same size (and, for a file, untouched since); it always removes the saved
 * copy, so a crash from here on finds nothing and the next start begins a new generation;</li>
 * <li>{@link #save} runs only after the device's writes are drained and flushed.</li>
 * </ul>
 */
public interface CbtStore {
    /** The saved map of this device, or null (with the reason logged) when it cannot be trusted. */
    CbtState claim(String name, Path path, long capacity, int blockShift) throws IOException;

    /** Saves the map at a clean stop of the device. */
    void save(String name, Path path, CbtState state) throws IOException;

    /** A store that keeps nothing: every attach starts a new generation. */
    CbtStore NONE = new CbtStore() {
        @Override
        public CbtState claim(String name, Path path, long capacity, int blockShift) {
            return null;
        }

        @Override
        public void save(String name, Path path, CbtState state) {
        }
    };
}
