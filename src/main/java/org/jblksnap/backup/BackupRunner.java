package org.jblksnap.backup;

import java.io.IOException;
import java.time.Instant;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.jblksnap.nbd.client.Extent;
import org.jblksnap.nbd.client.NbdClient;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.repo.EntryType;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.HashList;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.PointMeta;
import org.jblksnap.repo.PointStats;
import org.jblksnap.repo.Repository;

/**
 * Backs up one NBD export (a snapshot image, however it was taken) into a repository as a
 * new point. The first point of a device reads everything but the chunks base:allocation
 * reports as zeroes. A later one reads only the ranges the export's dirty bitmap reports as
 * changed since the device's last point ({@code qemu:dirty-bitmap:cbt-GENERATION-N} with N
 * the last point's changes number, when the generation is the same): of each block they
 * touch, the chunks they do not touch keep the last point's content unread, and a chunk they
 * touch in part is completed from it. When the generation differs, or the server does not
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

    public BackupSummary run(BackupRequest req) throws IOException {
        long t0 = System.nanoTime();
        Instant started = Instant.now();
        Optional<Point> last = repo.points().latest(req.device());
        String context = wantedContext(req, last);
        List<String> queries = context == null ? List.of(Nbd.CONTEXT_BASE_ALLOCATION)
                : List.of(Nbd.CONTEXT_BASE_ALLOCATION, context);
        try (NbdClient client = NbdClient.connect(req.address(), req.exportName(), queries,
                List.of(Nbd.CONTEXT_DIRTY_BITMAP_PREFIX))) {
            PointMeta geometry = new PointMeta(req.device(), client.size(), repo.blockSize(), repo.chunkSize(), started,
                    null, null, null, null, null);
            HashList previous = null;
            if (last.isPresent() && last.get().meta().size() != client.size()) {
                context = full("device size changed from " + last.get().meta().size() + " to " + client.size());
            } else if (last.isPresent()) {
                previous = previousIndex(last.get());
                if (previous == null) {
                    context = null;
                }
            }
            if (context != null && !client.export().hasContext(context)) {
                context = full("the server does not offer " + context + offered(client.export().listed()));
            }
            if (context != null) {
                String gap = unreadableParent(last.get(), previous);
                if (gap != null) {
                    context = full(gap);
                }
            }
            Map<String, List<Extent>> extents = client.export().contexts().isEmpty() ? Map.of()
                    : client.extents(0, client.size());
            BlockPlan plan = BlockPlan.of(client.size(), repo.blockSize(), repo.chunkSize(),
                    extents.get(Nbd.CONTEXT_BASE_ALLOCATION), context == null ? null : extents.get(context));
            Long parent = context == null ? null : last.get().id();
            HashList index = parent != null ? previous.copy() : new HashList(plan.count());
            String mode = parent != null ? "incremental to point " + parent + " by " + context : "full";
            progress.note("backup of " + req.device() + " from " + req.source() + ": " + mode);
            repo.packs().damagedPacks().forEach((pack, why) -> progress.note(why
                    + ": what it holds is not used and is stored again if needed (run verify)"));

            BlockCopier copier = copy(client, geometry, index,
                    new ParentFill(repo.packs(), geometry, previous, parent != null), plan);
            PointStats stats = new PointStats(copier.bytesRead.get(), copier.changedChunks.get(),
                    copier.newChunks.get(), copier.storedBytes.get(), copier.zeroChunks.get(),
                    (System.nanoTime() - t0) / 1e9, parent == null ? null : plan.reportedBytes());
            CbtRef cbt = req.cbt();
            PointMeta meta = new PointMeta(req.device(), client.size(), repo.blockSize(), repo.chunkSize(), started,
                    cbt == null ? null : cbt.generation(), cbt == null ? null : cbt.changesNumber(), parent,
                    req.source(), stats);
            long id = repo.commit(meta, index);
            return new BackupSummary(id, req.device(), client.size(), parent, mode, stats);
        }
    }

    private BlockCopier copy(NbdClient client, PointMeta geometry, HashList index, ParentFill parent, BlockPlan plan)
            throws IOException {
        ExecutorService workers = Executors.newFixedThreadPool(threads,
                Thread.ofPlatform().daemon().name("backup-worker-", 0).factory());
        try {
            BlockCopier copier = new BlockCopier(client, repo.packs(), geometry, index, parent, progress, workers,
                    inFlight);
            BitSet zero = plan.knownZero();
            for (int i = zero.nextSetBit(0); i >= 0; i = zero.nextSetBit(i + 1)) {
                copier.zero(i);
            }
            progress.start("backup " + geometry.device(), plan.bytesToRead());
            copier.copy(plan);
            progress.finish();
            return copier;
        } finally {
            workers.shutdownNow();
        }
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

    /** The index of the device's last point, or null (said why) when it cannot be read. */
    private HashList previousIndex(Point last) {
        try {
            return repo.points().index(last);
        } catch (IOException e) {
            full("the last point cannot be read (" + e.getMessage() + ")");
            return null;
        }
    }

    /** The dirty bitmap context for an incremental run, or null (said why) for a full one. */
    private String wantedContext(BackupRequest req, Optional<Point> last) {
        if (last.isEmpty()) {
            return full("first backup of " + req.device());
        }
        if (req.full()) {
            return full("a full backup was asked for");
        }
        if (req.dirtyBitmap() != null) {
            return req.dirtyBitmap();
        }
        PointMeta prev = last.get().meta();
        CbtRef now = req.cbt();
        if (now == null) {
            return full("the source gives no CBT generation");
        }
        if (prev.generation() == null || prev.changesNumber() == null) {
            return full("point " + last.get().id() + " has no CBT state");
        }
        if (!prev.generation().equals(now.generation())) {
            return full("CBT generation changed (point " + last.get().id() + " has " + prev.generation()
                    + ", the snapshot " + now.generation() + ")");
        }
        if (prev.changesNumber() > now.changesNumber()) {
            return full("the changes number went back from " + prev.changesNumber() + " to " + now.changesNumber());
        }
        return now.dirtyBitmapSince(prev.changesNumber());
    }

    private String full(String reason) {
        progress.note(reason + ": reading everything");
        return null;
    }

    /** " (it offers …)": the server's dirty bitmaps, for the message. */
    private static String offered(Set<String> listed) {
        return listed.isEmpty() ? " (it offers no dirty bitmap)"
                : " (it offers " + String.join(", ", listed.stream().sorted().toList()) + ")";
    }
}
