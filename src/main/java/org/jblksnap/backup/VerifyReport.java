package org.jblksnap.backup;

import java.util.List;

import org.jblksnap.params.Sizes;

/**
 * What verification found: points checked, packs read whole (none when one point was
 * checked), distinct good chunks the points use and their logical bytes, pack entries no
 * point uses (left for prune; counted only when every pack was read), the points and condemned
 * packs a prune running beside removed before they were checked, and the problems, one line
 * each.
 */
public record VerifyReport(int points, int packs, long chunks, long bytes, long unusedEntries, int prunedPoints,
        int prunedPacks, List<String> problems) {
    public boolean ok() {
        return problems.isEmpty();
    }

    public String format() {
        StringBuilder sb = new StringBuilder();
        sb.append("verified ").append(points).append(" points");
        if (packs > 0) {
            sb.append(", ").append(packs).append(" packs");
        }
        sb.append(", ").append(chunks).append(" distinct chunks (").append(Sizes.bytes(bytes)).append("): ")
                .append(ok() ? "all good" : problems.size() + " problems");
        if (unusedEntries > 0) {
            sb.append("; ").append(unusedEntries)
                    .append(" pack entries are used by no point (prune frees the packs where they are many)");
        }
        if (prunedPoints + prunedPacks > 0) {
            sb.append("; a prune beside removed ").append(prunedPoints).append(" point").append(prunedPoints == 1 ? "" : "s")
                    .append(" and ").append(prunedPacks).append(" condemned pack").append(prunedPacks == 1 ? "" : "s")
                    .append(" before they were checked");
        }
        for (String p : problems) {
            sb.append("\n  ").append(p);
        }
        return sb.toString();
    }
}
