package org.jblksnap.backup;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.jblksnap.backup.BackupMode.Full;
import org.jblksnap.backup.BackupMode.Incremental;
import org.jblksnap.nbd.client.Extent;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.repo.EntryType;
import org.jblksnap.repo.Geometry;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.PointMeta;
import org.jblksnap.repo.PointStats;
import org.jblksnap.repo.Repository;

/**
 * Backs up one export (a snapshot image, however it was taken; read over NBD, or by the daemon
 * in its process: {@link BlockSource}) into a repository as a new point. The first point of a
 * device reads everything but the chunks base:allocation reports as zeroes. A later one reads
 * only the ranges the export's dirty bitmap reports as changed since the device's last point
 * ({@code qemu:dirty-bitmap:cbt-GENERATION-N} with N the last point's changes number, when the
 * generation is the same): of each block they touch, the chunks they do not touch keep the
 * last point's content unread, and a chunk they touch in part is completed from it. When the generation differs, or the server does not
 * offer that context, the run says why and reads everything; dedup still stores only new
 * content.
 */
public final class BackupRunner {
    public static final int DEFAULT_IN_FLIGHT = 8;

    private final Repository repo;
    private final Progress progress;
    private final int inFlight;
    private final int threads;

    public BackupRunner(Repository repo, Progress progress) {
        this(repo, progress, DEFAULT_IN_FLIGHT, Runtime.getRuntime().availableProcessors());
    }

    /**
     * @param inFlight blocks read ahead (each needs a 4 MiB buffer)
     * @param threads workers that hash, compress and store
     */
    public BackupRunner(Repository repo, Progress progress, int inFlight, int threads) {
        if (inFlight < 1 || threads < 1) {
            throw new IllegalArgumentException("in-flight reads and threads must be at least 1");
        }
        this.repo = repo;
        this.progress = progress;
        this.inFlight = inFlight;
        this.threads = threads;
    }

    /** Backs up the request's export, read from its NBD server. */
    public BackupSummary run(BackupRequest req) throws IOException {
        return run(req, NbdSource.at(req.address(), req.exportName()));
    }

    /** Backs up the request's export, opened by source (the daemon reads its own images in its process). */
    public BackupSummary run(BackupRequest req, BlockSource.Opener source) throws IOException {
        long t0 = System.nanoTime();
        Optional<Point> last = repo.points().latest(req.device());
        Instant started = after(Instant.now(), last, req.device());
        Optional<String> bitmap = bitmapToAsk(req, last);
        List<String> queries = bitmap.map(b -> List.of(Nbd.CONTEXT_BASE_ALLOCATION, b))
                .orElse(List.of(Nbd.CONTEXT_BASE_ALLOCATION));
        try (BlockSource export = source.open(queries, List.of(Nbd.CONTEXT_DIRTY_BITMAP_PREFIX))) {
            Geometry geometry = new Geometry(export.size(), repo.blockSize(), repo.chunkSize());
            BackupMode mode = decide(last, bitmap, export);
            Map<String, List<Extent>> extents = export.extents();
            BlockPlan plan = BlockPlan.of(geometry, extents.get(Nbd.CONTEXT_BASE_ALLOCATION),
                    mode instanceof Incremental i ? extents.get(i.context()) : null);
            HashList index = mode.startIndex(plan.count());
            progress.note("backup of " + req.device() + " from " + req.source() + ": " + mode.describe());
            repo.packs().damagedPacks().forEach((pack, why) -> progress.note(why
                    + ": what it holds is not used and is stored again if needed (run verify)"));

            ParentFill parent = new ParentFill(repo.packs(), geometry, mode.previous(), mode instanceof Incremental);
            BlockCopier.Counts counts = copy(export, geometry, index, parent, plan, req.device());
            PointStats stats = counts.stats((System.nanoTime() - t0) / 1e9, plan.reportedBytes());
            CbtRef cbt = req.cbt();
            PointMeta meta = new PointMeta(req.device(), geometry.size(), geometry.blockSize(), geometry.chunkSize(),
                    started, cbt == null ? null : cbt.generation(), cbt == null ? null : cbt.changesNumber(),
                    mode.parentId(), req.source(), stats);
            long id = repo.commit(meta, index);
            return new BackupSummary(id, req.device(), geometry.size(), mode.parentId(), mode.describe(), stats);
        }
    }

    private BlockCopier.Counts copy(BlockSource export, Geometry geometry, HashList index, ParentFill parent,
            BlockPlan plan, String device) throws IOException {
        ExecutorService workers = Executors.newFixedThreadPool(threads,
                Thread.ofPlatform().daemon().name("backup-worker-", 0).factory());
        try {
            return new BlockCopier(export, repo.packs(), geometry, index, parent, progress, workers, inFlight)
                    .copy(plan, "backup " + device);
        } finally {
            workers.shutdownNow();
        }
    }

    /**
     * The run's mode, once connected: incremental to the last point when a dirty bitmap was
     * asked for, the device kept its size, the last point's index reads, the server offers
     * the bitmap and the repository has what the last point uses; full otherwise, each
     * reason said where it is found. A full run keeps the last point's index too, when it
     * reads, to count the chunks that changed.
     */
    private BackupMode decide(Optional<Point> last, Optional<String> bitmap, BlockSource export) throws IOException {
        if (last.isEmpty()) {
            return new Full(null);
        }
        Point p = last.get();
        if (p.meta().size() != export.size()) {
            return full("device size changed from " + p.meta().size() + " to " + export.size(), null);
        }
        HashList previous;
        try {
            previous = repo.points().index(p);
        } catch (IOException e) {
            return full("the last point cannot be read (" + e.getMessage() + ")", null);
        }
        if (bitmap.isEmpty()) {
            return new Full(previous);
        }
        String context = bitmap.get();
        if (!export.contexts().contains(context)) {
            return full("the server does not offer " + context + offered(export.listed()), previous);
        }
        String gap = unreadableParent(p, previous);
        return gap == null ? new Incremental(p, context, previous) : full(gap, previous);
    }

    /**
     * Why an incremental run cannot build on the last point, or null when it can: an
     * incremental keeps the last point's entries for what did not change, so they must all
     * be there. Damaged packs (whose entries are left out) or a manifest missing from the
     * repository make the run read everything instead of naming what is not there.
     */
    private String unreadableParent(Point last, HashList previous) throws IOException {
        if (!repo.packs().damagedPacks().isEmpty()) {
            return "the repository has damaged packs, which point " + last.id() + " may use";
        }
        for (int b = 0; b < previous.count(); b++) {
            Hash m = previous.get(b);
            if (!m.isZero() && !repo.packs().contains(EntryType.MANIFEST, m)) {
                return "point " + last.id() + " names manifest " + m.hex() + ", which the repository lacks";
            }
        }
        return null;
    }

    /**
     * The dirty bitmap to ask the server for, from the request and the CBT numbers of the
     * last point; empty (said why) when the run reads everything whatever the server offers.
     */
    /**
     * The time a new point is stamped with: now, unless the device's last point is not older
     * (the clock was set back, or that point came from a host whose clock is ahead). A
     * device's points are ordered by that time ({@link Point#OLDEST_FIRST}) and the newest is
     * the next run's parent, so the new point must come after it: just after, then, with a note.
     */
    private Instant after(Instant now, Optional<Point> last, String device) {
        Instant before = last.map(p -> p.meta().created()).orElse(null);
        if (before == null || now.isAfter(before)) {
            return now;
        }
        progress.note("the clock (" + now + ") is not after the time of point " + last.get().id() + " of " + device + " ("
                + before + "): the new point is dated just after it, so that it stays the newest");
        return before.plusNanos(1000);
    }

    private Optional<String> bitmapToAsk(BackupRequest req, Optional<Point> last) {
        if (last.isEmpty()) {
            return none("first backup of " + req.device());
        }
        if (req.full()) {
            return none("a full backup was asked for");
        }
        if (req.dirtyBitmap() != null) {
            return Optional.of(req.dirtyBitmap());
        }
        PointMeta prev = last.get().meta();
        CbtRef now = req.cbt();
        if (now == null) {
            return none("the source gives no CBT generation");
        }
        if (prev.generation() == null || prev.changesNumber() == null) {
            return none("point " + last.get().id() + " has no CBT state");
        }
        if (!prev.generation().equals(now.generation())) {
            return none("CBT generation changed (point " + last.get().id() + " has " + prev.generation()
                    + ", the snapshot " + now.generation() + ")");
        }
        if (prev.changesNumber() > now.changesNumber()) {
            return none("the changes number went back from " + prev.changesNumber() + " to " + now.changesNumber());
        }
        return Optional.of(now.dirtyBitmapSince(prev.changesNumber()));
    }

    private Optional<String> none(String why) {
        sayFull(why);
        return Optional.empty();
    }

    private BackupMode full(String why, HashList previous) {
        sayFull(why);
        return new Full(previous);
    }

    private void sayFull(String why) {
        progress.note(why + ": reading everything");
    }

    /** " (it offers …)": the server's dirty bitmaps, for the message. */
    private static String offered(Set<String> listed) {
        return listed.isEmpty() ? " (it offers no dirty bitmap)"
                : " (it offers " + String.join(", ", listed.stream().sorted().toList()) + ")";
    }
}
