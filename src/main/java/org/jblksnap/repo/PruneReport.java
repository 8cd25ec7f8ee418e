package org.jblksnap.repo;

import java.util.List;

/**
 * What pruning did: the points removed and kept; the packs deleted (nothing in them used)
 * and rewritten (with only their used entries), the entries that went with them, the unused
 * entries left in packs mostly used, and the bytes freed.
 */
public record PruneReport(List<Long> removedPoints, List<Long> keptPoints, int removedPacks, int rewrittenPacks,
        long removedEntries, long unusedEntriesLeft, long freedBytes) {
    public String format() {
        return "removed points " + (removedPoints.isEmpty() ? "none" : removedPoints) + ", kept "
                + (keptPoints.isEmpty() ? "none" : keptPoints) + "; deleted " + removedPacks + " packs and rewrote "
                + rewrittenPacks + ", removing " + removedEntries + " unused entries (" + freedBytes + " bytes freed); "
                + unusedEntriesLeft + " unused entries left in packs mostly used";
    }
}
