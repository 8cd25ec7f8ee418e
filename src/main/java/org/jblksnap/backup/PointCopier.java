package org.jblksnap.backup;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.EntryType;
import org.jblksnap.repo.Geometry;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.Parallel;
import org.jblksnap.repo.PackStore;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.PointMeta;
import org.jblksnap.repo.Repository;

/**
 * Copies points from one repository into another with their chunks, only what the target
 * lacks, each point committed on its own ({@code docs/REPOSITORY.md#copy}). Ids are keyed per
 * repository, so every chunk read is named again with the target's id and every manifest
 * rebuilt with the target's ids; the copy records its origin, so a point copied once is
 * skipped, and a block whose source manifest an earlier copy already mapped (the same
 * device's last copied point, and the points of this run) takes that copy's manifest unread.
 * A block that changed reads only its chunks that the earlier copy's block did not have.
 */
public final class PointCopier {
    /** What a run did: the points copied, and how many of those asked for were there already. */
    /**
     * The points copied, those the target had already, and those a prune removed from the
     * source after they were listed (nothing of theirs was copied).
     */
    public record Report(List<CopySummary> copied, int skipped, int gone) {
    }

    private final Repository from;
    private final Repository to;
    private final Progress progress;
    private final int threads;
    private final String fromId;
    private final String toId;
    /** The source's points by number, read once. */
    private final Map<Long, Point> sourcePoints = new HashMap<>();

    public PointCopier(Repository from, Repository to, Progress progress, int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1");
        }
        this.from = from;
        this.to = to;
        this.progress = progress;
        this.threads = threads;
        this.fromId = identity(from);
        this.toId = identity(to);
        if (fromId.equals(toId)) {
            throw new InvalidArgumentException("copy from " + from.location() + " to " + to.location()
                    + ": they are the same repository");
        }
        if (from.chunkSize() != to.chunkSize()) {
            throw new InvalidArgumentException("cannot copy from " + from.location() + " to " + to.location()
                    + ": their chunk sizes differ (" + from.chunkSize() + ", " + to.chunkSize()
                    + "); copy into a new repository, which gets the source's");
        }
    }

    /**
     * How a repository is named in the origin of the points copied from it: its id, or for a
     * repository without one (version 2, or made before ids) its location.
     */
    public static String identity(Repository r) {
        String id = r.config().id();
        return id != null ? id : r.location();
    }

    /**
     * The source points a copy is asked for, oldest first: every point, those of a device, or
     * one point (a number, or latest with a device). An unknown device or point is an error.
     */
    public static List<Point> select(Repository from, String device, String point) throws IOException {
        List<Point> all = device == null ? from.points().list() : from.points().list(device);
        if (device != null && all.isEmpty()) {
            throw new InvalidArgumentException("no point of device " + device + " in " + from.location());
        }
        if (point == null) {
            return all;
        }
        if (point.equals("latest")) {
            if (device == null) {
                throw new InvalidArgumentException("--point latest needs -d DEVICE");
            }
            return List.of(all.getLast());
        }
        long id;
        try {
            id = Long.parseLong(point);
        } catch (NumberFormatException e) {
            throw new InvalidArgumentException("bad point '" + point + "': a point number or latest");
        }
        Point p = from.points().get(id);
        if (device != null && !p.meta().device().equals(device)) {
            throw new InvalidArgumentException("point " + id + " is of device " + p.meta().device() + ", not " + device);
        }
        return List.of(p);
    }

    /**
     * Copies the points the target lacks of those given, oldest first, each committed in turn.
     * A prune may run on the source meanwhile (a copy is a shared holder there): a point it
     * removes before its copy begins is counted as gone, and a copied pair it removed is no
     * reference (its blocks are read).
     */
    public Report copy(List<Point> points) throws IOException {
        Map<Long, Point> copies = copiedPoints();
        List<CopySummary> done = new ArrayList<>();
        Map<String, Reference> references = new HashMap<>();
        int skipped = 0;
        int gone = 0;
        for (Point p : points) {
            if (copies.containsKey(p.id())) {
                skipped++;
                continue;
            }
            String device = p.meta().device();
            Reference ref = references.get(device);
            if (ref == null) {
                ref = reference(p, copies);
                references.put(device, ref);
            }
            Optional<CopySummary> s = copyPoint(p, copies, ref);
            if (s.isEmpty()) {
                gone++;
                continue;
            }
            done.add(s.get());
            copies.put(p.id(), to.points().get(s.get().targetPoint()));
        }
        return new Report(done, skipped, gone);
    }

    /**
     * The target's copy of each source point copied before: the target's points whose origin
     * is the source, and the source's points whose origin is a point the target still has
     * (copied the other way).
     */
    private Map<Long, Point> copiedPoints() throws IOException {
        Map<Long, Point> copies = new HashMap<>();
        Map<Long, Point> targetPoints = new HashMap<>();
        for (Point t : to.points().list()) {
            targetPoints.put(t.id(), t);
            PointMeta.Origin o = t.meta().origin();
            if (o != null && o.repository().equals(fromId)) {
                copies.putIfAbsent(o.point(), t);
            }
        }
        for (Point s : from.points().list()) {
            sourcePoints.put(s.id(), s);
            PointMeta.Origin o = s.meta().origin();
            if (o != null && o.repository().equals(toId) && targetPoints.containsKey(o.point())) {
                copies.putIfAbsent(s.id(), targetPoints.get(o.point()));
            }
        }
        return copies;
    }

    /**
     * The earlier copy a point's blocks are compared with: its parent's when that was copied,
     * else the last copied point of its device (none: everything is read).
     */
    private Reference reference(Point p, Map<Long, Point> copies) throws IOException {
        Long parent = p.meta().parent();
        Long source = parent != null && copies.containsKey(parent) && sourcePoints.containsKey(parent) ? parent : null;
        if (source == null) {
            Point latest = null; // the newest copied point of the device older than p
            for (Long id : copies.keySet()) {
                Point copied = sourcePoints.get(id);
                if (copied != null && copied.meta().device().equals(p.meta().device())
                        && Point.OLDEST_FIRST.compare(copied, p) < 0
                        && (latest == null || Point.OLDEST_FIRST.compare(copied, latest) > 0)) {
                    latest = copied;
                }
            }
            source = latest == null ? null : latest.id();
        }
        Reference ref = new Reference();
        if (source != null) {
            ref.add(sourcePoints.get(source), copies.get(source));
        }
        return ref;
    }

    /**
     * Source manifest ids to the target's, from copied pairs of points; and the last pair's
     * indexes, block by block, for the chunks of a block that changed.
     */
    private final class Reference {
        final Map<Hash, Hash> manifests = new ConcurrentHashMap<>();
        HashList sourceIndex;
        HashList targetIndex;
        Geometry geometry;

        /** Adds a copied pair: every block's source manifest maps to the copy's. */
        void add(Point source, Point copy) throws IOException {
            HashList s;
            HashList t;
            try {
                s = from.points().index(source);
                t = to.points().index(copy);
            } catch (NoSuchFileException pruned) {
                return; // removed since the listing: nothing to learn from it
            }
            if (s.count() != t.count()) {
                return; // not a copy of it after all; nothing to learn
            }
            for (int b = 0; b < s.count(); b++) {
                if (!s.get(b).isZero() && !t.get(b).isZero()) {
                    manifests.put(s.get(b), t.get(b));
                }
            }
            sourceIndex = s;
            targetIndex = t;
            geometry = source.meta().geometry();
        }

        /** The target's manifest for a source manifest, if an earlier copy made it and the target has it. */
        Hash manifest(Hash source) throws IOException {
            Hash t = manifests.get(source);
            return t != null && to.packs().contains(EntryType.MANIFEST, t) ? t : null;
        }

        /** The source chunk ids of the reference's block to the target's (empty without one); a new map. */
        Map<Hash, Hash> chunks(int block, int chunks) throws IOException {
            Map<Hash, Hash> m = new HashMap<>();
            if (sourceIndex == null || block >= sourceIndex.count() || geometry.chunkCount(block) != chunks
                    || sourceIndex.get(block).isZero()) {
                return m;
            }
            HashList s;
            HashList t;
            try {
                s = from.packs().manifest(geometry, sourceIndex, block);
                t = to.packs().manifest(geometry, targetIndex, block);
            } catch (IOException e) {
                return m; // an earlier copy's manifest that does not read: the block's chunks are read
            }
            for (int c = 0; c < chunks; c++) {
                if (!s.get(c).isZero() && !t.get(c).isZero()) {
                    m.put(s.get(c), t.get(c));
                }
            }
            return m;
        }
    }

    /**
     * Copies one point: its blocks on several threads, then its file, committed. Empty when a
     * prune removed it from the source since it was listed.
     */
    private Optional<CopySummary> copyPoint(Point p, Map<Long, Point> copies, Reference ref) throws IOException {
        long t0 = System.nanoTime();
        Geometry geometry = p.meta().geometry();
        HashList source;
        try {
            source = from.points().index(p);
        } catch (NoSuchFileException pruned) {
            return Optional.empty();
        }
        HashList index = new HashList(source.count());
        AtomicLong reused = new AtomicLong();
        AtomicLong chunksRead = new AtomicLong();
        AtomicLong bytesRead = new AtomicLong();
        AtomicLong newChunks = new AtomicLong();
        AtomicLong stored = new AtomicLong();
        PackStore src = from.packs();
        PackStore dst = to.packs();
        List<Integer> blocks = new ArrayList<>();
        for (int b = 0; b < source.count(); b++) {
            Hash sm = source.get(b);
            Hash known = sm.isZero() ? Hash.ZERO : ref.manifest(sm);
            if (known != null) {
                index.set(b, known);
                reused.addAndGet(sm.isZero() ? 0 : 1);
            } else {
                blocks.add(b);
            }
        }
        progress.start("copy point " + p.id() + " of " + p.meta().device(), (long) blocks.size() * geometry.blockSize());
        Parallel.forEach(threads, blocks, b -> {
            int chunks = geometry.chunkCount(b);
            HashList manifest = src.manifest(source.get(b), chunks);
            Map<Hash, Hash> before = ref.chunks(b, chunks);
            HashList copy = new HashList(chunks);
            for (int c = 0; c < chunks; c++) {
                Hash h = manifest.get(c);
                if (h.isZero()) {
                    continue;
                }
                Hash t = before.get(h);
                if (t == null || !dst.contains(EntryType.CHUNK, t)) {
                    int len = geometry.chunkLength(b, c);
                    byte[] data = src.chunk(h, len);
                    chunksRead.incrementAndGet();
                    bytesRead.addAndGet(len);
                    t = dst.id(data, 0, len);
                    long n = dst.put(EntryType.CHUNK, t, data, 0, len);
                    if (n > 0) {
                        newChunks.incrementAndGet();
                        stored.addAndGet(n);
                    }
                    before.put(h, t); // the same content again in this block is not read again
                }
                copy.set(c, t);
            }
            Hash tm = dst.id(copy);
            stored.addAndGet(dst.putManifest(tm, copy));
            index.set(b, tm);
            ref.manifests.put(source.get(b), tm);
            progress.advance(geometry.blockLength(b));
        });
        progress.finish();
        Point parent = p.meta().parent() == null ? null : copies.get(p.meta().parent());
        PointMeta meta = p.meta().copiedAs(parent == null ? null : parent.id(), new PointMeta.Origin(fromId, p.id()));
        long id = to.commit(meta, index);
        ref.sourceIndex = source;
        ref.targetIndex = index;
        ref.geometry = geometry;
        return Optional.of(new CopySummary(p.id(), id, p.meta().device(), geometry.size(), meta.parent(),
                reused.get(), chunksRead.get(), bytesRead.get(), newChunks.get(), stored.get(),
                (System.nanoTime() - t0) / 1e9));
    }
}
