package org.jblksnap.backup;

import java.util.List;

/**
 * What verification found: points and distinct blocks checked, their logical bytes, blocks
 * no point uses (left for prune; counted only when every point was checked), and the
 * problems, one line each.
 */
public record VerifyReport(int points, long blocks, long bytes, long unusedBlocks, List<String> problems) {
    public boolean ok() {
        return problems.isEmpty();
    }

    public String format() {
        StringBuilder sb = new StringBuilder();
        sb.append("verified ").append(points).append(" points, ").append(blocks).append(" distinct blocks (")
                .append(Sizes.bytes(bytes)).append("): ").append(ok() ? "all good" : problems.size() + " problems");
        if (unusedBlocks > 0) {
            sb.append("; ").append(unusedBlocks).append(" blocks are used by no point (prune removes them)");
        }
        for (String p : problems) {
            sb.append("\n  ").append(p);
        }
        return sb.toString();
    }
}
