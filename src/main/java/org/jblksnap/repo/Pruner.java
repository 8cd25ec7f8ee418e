package org.jblksnap.repo;

import java.io.IOException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Keeps the newest N points of every device (or those a {@link Retention} keeps) and removes
 * the others, then the packs' entries no remaining point uses: a pack none of whose entries is used is deleted; a pack of which
 * at least a quarter of the bytes is unused is rewritten with only the used entries (the new
 * pack durable before the old one is deleted); other packs stay as they are. Points are
 * removed first (each point is whole by itself, so no kept point depends on a removed one),
 * packs after: a crash in between leaves unused entries or a used entry twice, never a
 * missing one, and the next prune finishes the work ({@code docs/REPOSITORY.md#verify-and-prune}).
 * The only code that changes or deletes packs; it needs the repository opened exclusively.
 */
public final class Pruner {
    private Pruner() {
    }

    public static PruneReport prune(Repository repo, int keep) throws IOException {
        if (keep < 1) {
            throw new IllegalArgumentException("keep must be at least 1 (it was " + keep + ")");
        }
        return prune(repo, Retention.lastOnly(keep), ZoneId.systemDefault());
    }

    /** Keeps the points the retention keeps of each device (their times in zone), as above. */
    public static PruneReport prune(Repository repo, Retention retention, ZoneId zone) throws IOException {
        if (!repo.exclusive()) {
            throw new IllegalStateException("pruning needs the repository opened exclusively");
        }
        Map<String, List<Point>> byDevice = new LinkedHashMap<>();
        for (Point p : repo.points().list()) {
            byDevice.computeIfAbsent(p.meta().device(), d -> new ArrayList<>()).add(p);
        }
        List<Long> removed = new ArrayList<>();
        List<Long> kept = new ArrayList<>();
        BitSet used = new BitSet();
        for (List<Point> points : byDevice.values()) {
            Set<Long> keep = retention.keep(points, zone);
            for (int i = 0; i < points.size(); i++) {
                if (!keep.contains(points.get(i).id())) {
                    removed.add(points.get(i).id());
                } else {
                    kept.add(points.get(i).id());
                    // an unreadable kept point or manifest stops here, before anything is removed
                    markUsed(repo, points.get(i), used);
                }
            }
        }
        for (long id : removed) {
            repo.points().delete(id);
        }
        PruneReport report = prunePacks(repo.packs(), used, removed, kept);
        reload(repo.packs());
        return report;
    }

    /** Marks the table entries of the manifests and chunks a point uses. */
    private static void markUsed(Repository repo, Point p, BitSet used) throws IOException {
        PackStore packs = repo.packs();
        PackCatalog catalog = packs.catalog();
        HashList index = repo.points().index(p);
        for (int b = 0; b < index.count(); b++) {
            Hash mh = index.get(b);
            if (mh.isZero()) {
                continue;
            }
            int m = catalog.entryNumber(EntryType.MANIFEST, mh);
            if (m >= 0 && used.get(m)) {
                continue; // seen in this or another point: its chunks are marked
            }
            HashList manifest;
            try {
                manifest = packs.manifest(mh, p.meta().geometry().chunkCount(b));
            } catch (BadEntryException e) {
                throw new RepositoryException("point " + p.id() + " is kept but its " + e.getMessage()
                        + ": nothing was pruned (see verify)", e);
            }
            used.set(catalog.entryNumber(EntryType.MANIFEST, mh));
            for (int c = 0; c < manifest.count(); c++) {
                Hash h = manifest.get(c);
                int e = h.isZero() ? -1 : catalog.entryNumber(EntryType.CHUNK, h);
                if (e >= 0) {
                    used.set(e); // a missing chunk is verify's to report; there is nothing to keep
                }
            }
        }
    }

    private static PruneReport prunePacks(PackStore packs, BitSet used, List<Long> removed, List<Long> kept)
            throws IOException {
        int removedPacks = 0;
        int rewrittenPacks = 0;
        long removedEntries = 0;
        long unusedLeft = 0;
        long freed = 0;
        PackCatalog catalog = packs.catalog();
        ObjectStore store = catalog.store();
        for (int n = 0; n < catalog.packCount(); n++) {
            String pack = catalog.packName(n);
            List<PackFile.Entry> entries = PackFile.readIndex(catalog.codec(), catalog.source(n));
            List<PackFile.Entry> keep = new ArrayList<>();
            long total = 0;
            long usedBytes = 0;
            for (PackFile.Entry e : entries) {
                total += e.length();
                if (isNeededCopy(packs, used, n, e)) {
                    keep.add(e);
                    usedBytes += e.length();
                }
            }
            long size = catalog.size(n);
            if (keep.isEmpty()) {
                store.delete(pack);
                removedPacks++;
                removedEntries += entries.size();
                freed += size;
            } else if ((total - usedBytes) * 4 >= total && keep.size() < entries.size()) {
                freed += size - rewrite(store, catalog.codec(), catalog.source(n), pack, keep);
                rewrittenPacks++;
                removedEntries += entries.size() - keep.size();
            } else {
                unusedLeft += entries.size() - keep.size();
            }
        }
        removed.sort(null);
        kept.sort(null);
        return new PruneReport(removed, kept, removedPacks, rewrittenPacks, removedEntries, unusedLeft, freed);
    }

    /**
     * Whether a kept point needs this copy of an entry: it is the copy reads use, or a
     * duplicate of one that does not read back (damaged: verify reports it), which must not
     * be removed while it may be the only good copy left.
     */
    private static boolean isNeededCopy(PackStore packs, BitSet used, int pack, PackFile.Entry e) throws IOException {
        int n = packs.catalog().entryNumber(e.type(), e.hash());
        if (n < 0 || !used.get(n)) {
            return false;
        }
        EntryTable.Location at = packs.catalog().location(n);
        if (at.pack() == pack && at.offset() == e.offset()) {
            return true;
        }
        return !packs.reader().readCopyIsGood(e.type(), e.hash(), e.rawLength());
    }

    /**
     * Writes the given entries of a pack into a new pack and makes it durable (the store
     * synced), then deletes the old pack: a crash in between leaves both, never neither.
     * Returns the new pack's size.
     */
    private static long rewrite(ObjectStore store, ObjectCodec codec, PackFile.Source in, String pack,
            List<PackFile.Entry> keep)
            throws IOException {
        PackWriter w = PackWriter.create(store, codec);
        try {
            for (PackFile.Entry e : keep) {
                byte[] frame = PackFile.readFrame(in, e.offset(), e.length());
                w.append(e.type(), e.hash(), frame, frame.length, e.rawLength());
            }
        } catch (IOException | RuntimeException e) {
            w.abandon();
            throw e;
        }
        w.finish();
        store.sync();
        store.delete(pack);
        return w.size();
    }

    /** Makes the store read every pack again on its next use: prune changed them. */
    private static void reload(PackStore packs) {
        packs.appender().checkIdle();
        packs.catalog().forget();
    }
}
