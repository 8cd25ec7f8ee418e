package org.jblksnap.backup.repo;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Keeps the newest N points of every device and removes the others, then every block no
 * remaining point uses. Points are removed first (each point is whole by itself, so no kept
 * point depends on a removed one), blocks after: a crash in between leaves unused blocks
 * that the next prune removes. Needs the repository opened exclusively.
 */
public final class Pruner {
    private Pruner() {
    }

    public static PruneReport prune(Repository repo, int keep) throws IOException {
        if (keep < 1) {
            throw new IllegalArgumentException("keep must be at least 1 (it was " + keep + ")");
        }
        if (!repo.exclusive()) {
            throw new IllegalStateException("pruning needs the repository opened exclusively");
        }
        Map<String, List<Point>> byDevice = new LinkedHashMap<>();
        for (Point p : repo.points().list()) {
            byDevice.computeIfAbsent(p.meta().device(), d -> new ArrayList<>()).add(p);
        }
        List<Long> removed = new ArrayList<>();
        List<Long> kept = new ArrayList<>();
        Set<Hash> used = new HashSet<>();
        for (List<Point> points : byDevice.values()) {
            int firstKept = Math.max(0, points.size() - keep);
            for (int i = 0; i < points.size(); i++) {
                if (i < firstKept) {
                    removed.add(points.get(i).id());
                } else {
                    kept.add(points.get(i).id());
                    // an unreadable kept point stops here, before anything is removed
                    used.addAll(repo.points().index(points.get(i)).storedBlocks());
                }
            }
        }
        for (long id : removed) {
            repo.points().delete(id);
        }
        repo.points().syncDirectory();
        List<Hash> unused = new ArrayList<>();
        repo.blocks().forEach(h -> {
            if (!used.contains(h)) {
                unused.add(h);
            }
        });
        long freedBytes = 0;
        for (Hash h : unused) {
            freedBytes += repo.blocks().storedSize(h);
            repo.blocks().delete(h);
        }
        repo.blocks().sync();
        removed.sort(null);
        kept.sort(null);
        return new PruneReport(removed, kept, unused.size(), freedBytes);
    }
}
