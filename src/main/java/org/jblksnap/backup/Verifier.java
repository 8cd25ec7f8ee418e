package org.jblksnap.backup;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

import org.jblksnap.repo.EntryCheck;
import org.jblksnap.repo.EntryType;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.ManifestsAhead;
import org.jblksnap.repo.Parallel;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.Geometry;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryException;

/**
 * Checks a repository. Verifying everything reads every pack whole (index checksum, every
 * entry decompressed and checked against its hash, length and type), then every point file
 * (checksum, index), every manifest the points name and that every chunk those name is there
 * and good; it counts the entries no point uses. Verifying one point checks its file and
 * every manifest and chunk it uses, read on demand. Each problem is reported once, with the
 * points it affects.
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

    /**
     * Verifies one point, or every point and pack when pointId is null. A prune may run beside
     * (verify is a shared holder): a point it removes after the listing, and a condemned pack its
     * sweep deletes before the pack is read, are counted as removed, not reported as problems.
     * What the points still there use stays while this holder lives (docs/REPOSITORY.md, "The
     * rule"). A point named by pointId that goes is an error, as if it had never been there.
     */
    public VerifyReport verify(Long pointId) throws IOException {
        List<Point> points = new ArrayList<>();
        if (pointId == null) {
            for (long id : repo.points().ids()) {
                repo.points().find(id).ifPresent(points::add);
            }
        } else {
            points.add(repo.points().get(pointId));
        }
        EntryCheck check = new EntryCheck(repo.packs());
        Map<String, TreeSet<Long>> problems = new ConcurrentHashMap<>();
        List<String> alone = Collections.synchronizedList(new ArrayList<>());
        if (pointId == null) {
            repo.packs().damagedPacks().values().forEach(alone::add);
            List<Integer> packs = IntStream.range(0, check.packCount()).boxed().toList();
            long bytes = 0;
            for (int p : packs) {
                bytes += check.packBytes(p);
            }
            progress.start("verify packs", bytes);
            // one pack more than threads at once: a pack is read whole (32 MiB, ~30 ms here) before
            // it is decoded, and the extra one's read overlaps the others' decompressing and hashing
            Parallel.forEach(threads + 1, packs, p -> {
                check.readPack(p);
                progress.advance(check.packBytes(p));
            });
            progress.finish();
        }
        Map<Hash, List<String>> beneath = new ConcurrentHashMap<>();
        long total = 0;
        for (Point p : points) {
            total += p.meta().size();
        }
        progress.start("verify points", total);
        int removed = 0;
        for (Point p : points) {
            long id = p.id();
            Geometry geometry = p.meta().geometry();
            try {
                HashList index;
                try {
                    index = repo.points().index(p);
                } catch (NoSuchFileException prunedSinceListed) {
                    if (pointId != null) {
                        throw new RepositoryException("point " + id + " was removed by a prune while it was verified");
                    }
                    removed++;
                    continue;
                }
                List<Integer> blocks = IntStream.range(0, index.count()).boxed().toList();
                ManifestsAhead manifests = new ManifestsAhead(repo.packs(), geometry, index);
                for (int b = 0; b < ManifestsAhead.DEPTH; b++) {
                    readAhead(check, manifests, index, b);
                }
                Parallel.forEach(threads, blocks, b -> {
                    readAhead(check, manifests, index, b + ManifestsAhead.DEPTH);
                    for (String q : checkBlock(check, geometry, manifests, index, b, beneath)) {
                        problems.computeIfAbsent(q, k -> new TreeSet<>()).add(id);
                    }
                    progress.advance(geometry.blockLength(b));
                });
            } catch (IOException e) {
                if (e instanceof InterruptedIOException || Thread.currentThread().isInterrupted()) {
                    throw e; // cancelled: no problem of this point, and the next ones would fail alike
                }
                alone.add("point " + id + ": " + e.getMessage());
            }
        }
        progress.finish();
        List<String> sorted = new ArrayList<>(alone);
        problems.forEach((q, users) -> sorted.add(q + " (used by point" + (users.size() > 1 ? "s " : " ")
                + String.join(", ", users.stream().map(String::valueOf).toList()) + ")"));
        if (pointId == null) {
            sorted.addAll(check.problems());
        }
        Collections.sort(sorted);
        return new VerifyReport(points.size() - removed, check.packsRead(), check.usedChunks(), check.usedChunkBytes(),
                check.unusedEntries(), removed, check.packsSwept(), sorted);
    }

    /**
     * Starts reading block b's manifest ahead unless a block checked before used it (then its
     * chunks are not checked again and the manifest is not read): in a bucket each read is a
     * round trip, and the blocks' checks took them one after another.
     */
    private static void readAhead(EntryCheck check, ManifestsAhead manifests, HashList index, int b)
            throws IOException {
        if (b < index.count() && !index.get(b).isZero() && !check.used(EntryType.MANIFEST, index.get(b))) {
            manifests.readAhead(b);
        }
    }

    /**
     * The problems of one block of a point: its manifest's, or those of the chunks it names.
     * What a manifest checked before (by this or another point) holds is not checked again:
     * its problems are remembered in beneath.
     */
    private List<String> checkBlock(EntryCheck check, Geometry geometry, ManifestsAhead manifests, HashList index,
            int b, Map<Hash, List<String>> beneath) throws IOException {
        Hash mh = index.get(b);
        if (mh.isZero()) {
            return List.of();
        }
        EntryCheck.Use m = check.use(EntryType.MANIFEST, mh, geometry.chunkCount(b) * Hash.BYTES);
        if (m.problem() != null) {
            return List.of(m.problem());
        }
        if (!m.first()) {
            return beneath.getOrDefault(mh, List.of());
        }
        HashList manifest = manifests.take(b);
        List<String> found = new ArrayList<>();
        for (int c = 0; c < manifest.count(); c++) {
            Hash h = manifest.get(c);
            if (!h.isZero()) {
                EntryCheck.Use u = check.use(EntryType.CHUNK, h, geometry.chunkLength(b, c));
                if (u.problem() != null) {
                    found.add(u.problem());
                }
            }
        }
        if (!found.isEmpty()) {
            beneath.put(mh, found);
        }
        return found;
    }
}
