package org.jblksnap.backup.repo;

import java.util.List;

/** What pruning removed and kept. */
public record PruneReport(List<Long> removedPoints, List<Long> keptPoints, long removedBlocks, long freedBytes) {
    public String format() {
        return "removed points " + (removedPoints.isEmpty() ? "none" : removedPoints) + ", kept "
                + (keptPoints.isEmpty() ? "none" : keptPoints) + "; removed " + removedBlocks + " unused blocks ("
                + freedBytes + " bytes)";
    }
}
