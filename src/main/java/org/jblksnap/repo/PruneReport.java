package org.jblksnap.repo;

import java.util.List;

/**
 * What pruning did: the points removed and kept; the packs deleted (swept: condemned by this
 * run or an earlier one, and no point needs them; the old packs of this run's rewrites are
 * counted as rewritten only) and rewritten (their used entries copied to
 * a new pack, the old one condemned), the entry copies that went with the deleted packs (less
 * those this run copied), the unused entries left in packs mostly used, and the bytes freed
 * (deleted less written, so negative when a rewrite's old pack is still waiting); the packs
 * condemned by this run, the condemned packs found needed and kept, the condemned packs and
 * markers still waiting for backups that were running, and notes (markers dropped, a point a
 * sweep could not read, so that nothing was swept).
 */
public record PruneReport(List<Long> removedPoints, List<Long> keptPoints, int removedPacks, int rewrittenPacks,
        long removedEntries, long unusedEntriesLeft, long freedBytes, int condemnedPacks, int keptCondemnedPacks,
        int waitingPacks, int waitingMarkers, List<String> notes) {
    public String format() {
        return "removed points " + (removedPoints.isEmpty() ? "none" : removedPoints) + ", kept "
                + (keptPoints.isEmpty() ? "none" : keptPoints) + "; condemned " + condemnedPacks + " packs (rewrote "
                + rewrittenPacks + "); swept " + removedPacks + " packs, removing " + removedEntries
                + " unused entries (" + freedBytes + " bytes freed)"
                + (keptCondemnedPacks > 0 ? ", kept " + keptCondemnedPacks + " condemned packs a point uses" : "")
                + "; " + (waitingMarkers > 0 ? waitingPacks + " condemned packs in " + waitingMarkers
                        + " markers wait for backups that were running; " : "")
                + unusedEntriesLeft + " unused entries left in packs mostly used"
                + (notes.isEmpty() ? "" : "; " + String.join("; ", notes));
    }
}
