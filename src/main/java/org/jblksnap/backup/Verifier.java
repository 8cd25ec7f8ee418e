package org.jblksnap.backup;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.jblksnap.backup.repo.BadBlockException;
import org.jblksnap.backup.repo.Hash;
import org.jblksnap.backup.repo.Point;
import org.jblksnap.backup.repo.PointIndex;
import org.jblksnap.backup.repo.Repository;

/**
 * Re-reads every point file (checksum, index) and every block they use once (decompress,
 * re-hash, length), reporting each problem with the points it affects.
 */
public final class Verifier {
    private final Repository repo;
    private final Progress progress;
    private final int threads;

    public Verifier(Repository repo, Progress progress, int threads) {
        this.repo = repo;
        this.progress = progress;
        this.threads = threads;
    }

    private record Use(int length, TreeSet<Long> points) {
    }

    /** Verifies one point, or every point when pointId is null. */
    public VerifyReport verify(Long pointId) throws IOException {
        List<Long> ids = pointId == null ? repo.points().ids() : List.of(repo.points().get(pointId).id());
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        Map<Hash, Use> uses = new HashMap<>();
        for (long id : ids) {
            try {
                Point p = repo.points().get(id);
                PointIndex index = repo.points().index(p);
                for (int i = 0; i < index.count(); i++) {
                    Hash h = index.get(i);
                    if (!h.isZero()) {
                        int length = p.meta().blockLength(i);
                        uses.computeIfAbsent(h, k -> new Use(length, new TreeSet<>())).points().add(id);
                    }
                }
            } catch (IOException e) {
                problems.add("point " + id + ": " + e.getMessage());
            }
        }
        long bytes = uses.values().stream().mapToLong(Use::length).sum();
        progress.start("verify", bytes);
        Parallel.forEach(threads, uses.entrySet(), e -> {
            try {
                repo.blocks().get(e.getKey(), e.getValue().length());
            } catch (BadBlockException b) {
                problems.add(b.getMessage() + " (used by point" + (e.getValue().points().size() > 1 ? "s " : " ")
                        + String.join(", ", e.getValue().points().stream().map(String::valueOf).toList()) + ")");
            }
            progress.advance(e.getValue().length());
        });
        progress.finish();
        long[] unused = {0};
        if (pointId == null) {
            repo.blocks().forEach(h -> {
                if (!uses.containsKey(h)) {
                    unused[0]++;
                }
            });
        }
        List<String> sorted = new ArrayList<>(problems);
        Collections.sort(sorted);
        return new VerifyReport(ids.size(), uses.size(), bytes, unused[0], sorted);
    }
}
