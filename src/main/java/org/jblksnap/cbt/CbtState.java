package org.jblksnap.cbt;

import java.util.UUID;

/** Everything a CBT map is, for saving across daemon restarts. */
public record CbtState(long capacity, int blockShift, UUID generation, int active, int previous, byte[] readable,
        byte[] writable) {
}
