package org.jblksnap.backup;

import org.jblksnap.nbd.protocol.CbtBitmapName;

/**
 * The change tracking state of the snapshot a backup reads: its CBT generation and changes
 * number (what {@code cbtinfo} prints after the snapshot was taken).
 */
public record CbtRef(String generation, int changesNumber) {
    public CbtRef {
        if (generation == null || generation.isEmpty()) {
            throw new IllegalArgumentException("a CBT generation is needed");
        }
        if (changesNumber < 0) {
            throw new IllegalArgumentException("changes number " + changesNumber + " is negative");
        }
    }

    /**
     * The metadata context of an image export whose dirty bitmap lists the blocks changed
     * since backup {@code sinceNumber} of this generation.
     */
    public String dirtyBitmapSince(int sinceNumber) {
        return new CbtBitmapName(generation, sinceNumber).context();
    }
}
