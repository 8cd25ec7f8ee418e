package org.jblksnap.repo;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Keeps the newest N points of every device (or those a {@link Retention} keeps) and removes
 * the others, then the packs' entries no remaining point uses, in two phases, so that backups,
 * restores and checks may go on meanwhile (the rule and its proof:
 * {@code docs/REPOSITORY.md#verify-and-prune}):
 *
 * <ul>
 * <li>sweep: a pack condemned by an earlier marker ({@link Condemned}) is deleted once none of
 *     the holders the marker waits for is alive and no point committed by then needs it (an
 *     entry it holds is used and has no copy in a pack not condemned); a needed one is kept;
 *     the marker goes;
 * <li>mark: a pack none of whose entries a point uses is condemned; a pack of which at least
 *     a quarter of the bytes are unused has its used entries written to a new pack, made
 *     durable, and is condemned; the marker is written, then the holders alive are recorded in
 *     it. When none is (a prune alone), its packs are swept at once, by the same rule.
 * </ul>
 *
 * Points are removed first (each point is whole by itself), after the pending markers are
 * set to wait for the holders alive after the removal (a running backup may have taken a removed
 * point as its parent). The only code that changes or deletes packs; it needs the repository
 * opened for prune ({@link Repository#openForPrune}) or exclusively.
 */
public final class Pruner {
    /** How long a lease check serves deletions before the lock is checked (and rewritten) again. */
    private static final long RECHECK_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** Manifests a mark reads at once, and the blocks of a point it reads them for in one batch. */
    static final int MANIFEST_READS = 8;
    private static final int MANIFEST_BATCH = 4096;

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
        if (repo.mode() == ObjectStore.LockMode.SHARED) {
            throw new IllegalStateException("pruning needs the repository opened for prune or exclusively");
        }
        try {
            return new Run(repo).prune(retention, zone);
        } finally {
            reload(repo.packs());
        }
    }

    /** One prune: what it has marked used, and what it did. */
    private static final class Run {
        final Repository repo;
        final ObjectStore store;
        final PackStore packs;
        final PackCatalog catalog;
        final ObjectStore.Lock lock;
        /** Table entries a point uses, and the points marked. */
        final BitSet used = new BitSet();
        final Set<Long> marked = new HashSet<>();
        /** The points the retention removes, and the entries they use (for a sweep before they go). */
        final Set<Long> toRemove = new HashSet<>();
        final BitSet usedByRemoved = new BitSet();
        final Set<Long> markedRemoved = new HashSet<>();
        /** The points a sweep found but could not read (damaged): no sweep in this run. */
        final Set<Long> unreadable = new HashSet<>();
        /** Table entries this run copied to new packs (rewrites). */
        final BitSet copied = new BitSet();
        /** The pending markers, by name (complete: they name the holders they wait for). */
        final Map<String, Condemned> pending = new LinkedHashMap<>();
        /** The packs this run deleted. */
        final Set<String> deleted = new HashSet<>();
        long ticket;
        long ticketAt;
        boolean leased;

        int removedPacks;
        int rewrittenPacks;
        long removedEntries;
        long unusedLeft;
        long freed;
        int condemnedPacks;
        int keptCondemned;
        final List<String> notes = new ArrayList<>();

        Run(Repository repo) {
            this.repo = repo;
            this.store = repo.store();
            this.packs = repo.packs();
            this.catalog = packs.catalog();
            this.lock = repo.lock();
        }

        /** Fails unless this prune's lock is still held (a prune taken for dead must not delete). */
        void checkLease() throws IOException {
            long now = System.nanoTime();
            if (!leased || now - ticketAt > RECHECK_NANOS) {
                ticket = lock.checkHeld();
                ticketAt = now;
                leased = true;
            }
            lock.checkSince(ticket);
        }

        /** The holders alive now, but this one. */
        Set<String> others() throws IOException {
            Set<String> live = new TreeSet<>(store.liveLocks());
            if (lock.name() != null) {
                live.remove(lock.name());
            }
            return live;
        }

        PruneReport prune(Retention retention, ZoneId zone) throws IOException {
            for (Condemned.Listed l : Condemned.list(store)) {
                if (l.marker() == null || !l.marker().complete()) {
                    // deleting a marker only makes its packs ordinary again
                    notes.add("dropped marker " + l.name() + (l.marker() == null ? " (" + l.problem() + ")"
                            : " (its prune ended before it named whom to wait for)"));
                    store.delete(l.name());
                } else {
                    pending.put(l.name(), l.marker());
                }
            }
            List<Point> all = repo.points().list();
            Map<String, List<Point>> byDevice = new LinkedHashMap<>();
            for (Point p : all) {
                byDevice.computeIfAbsent(p.meta().device(), d -> new ArrayList<>()).add(p);
            }
            Set<Long> keep = new HashSet<>();
            for (List<Point> points : byDevice.values()) {
                keep.addAll(retention.keep(points, zone));
            }
            List<Long> removed = new ArrayList<>(); // both oldest first
            List<Long> kept = new ArrayList<>();
            for (Point p : all) {
                if (!keep.contains(p.id())) {
                    removed.add(p.id());
                } else {
                    kept.add(p.id());
                    // an unreadable kept point or manifest stops here, before anything is removed
                    try {
                        markUsed(p, used);
                    } catch (BadEntryException e) {
                        throw new RepositoryException("point " + p.id() + " is kept but its " + e.getMessage()
                                + ": nothing more was pruned (see verify)", e);
                    }
                    marked.add(p.id());
                }
            }
            // Sweep before the removal: the points it lists include those about to go, which a
            // running backup may have taken as its parent.
            Set<String> live = others();
            List<String> ripe = new ArrayList<>();
            for (Map.Entry<String, Condemned> m : pending.entrySet()) {
                if (m.getValue().waitFor().stream().noneMatch(live::contains)) {
                    ripe.add(m.getKey());
                }
            }
            toRemove.addAll(removed);
            sweep(ripe);
            if (!removed.isEmpty()) {
                // A backup running now may have a removed point as its parent: every pending marker
                // waits for it too. Incomplete first, so that a crash before the end drops them.
                checkLease();
                for (Map.Entry<String, Condemned> m : pending.entrySet()) {
                    new Condemned(m.getValue().format(), m.getValue().version(), m.getValue().written(),
                            m.getValue().prune(), m.getValue().packs(), null).put(store, m.getKey());
                }
                for (long id : removed) {
                    checkLease();
                    repo.points().delete(id);
                }
                // What only the removed points used is needed no more: a sweep later in this run
                // is mark's own, which happens only with no holder alive, so no backup that could
                // have taken a removed point as its parent is left (and its point, if it
                // committed one, is listed by that sweep).
                usedByRemoved.clear();
                live = others();
                checkLease();
                for (Map.Entry<String, Condemned> m : pending.entrySet()) {
                    Set<String> waitFor = new TreeSet<>(m.getValue().waitFor());
                    waitFor.addAll(live);
                    m.setValue(m.getValue().waitingFor(waitFor));
                    m.getValue().put(store, m.getKey());
                }
            }
            mark();
            List<String> waiting = new ArrayList<>();
            for (Condemned c : pending.values()) {
                waiting.addAll(c.packs());
            }
            compactIndex();
            return new PruneReport(removed, kept, removedPacks, rewrittenPacks, removedEntries, unusedLeft, freed,
                    condemnedPacks, keptCondemned, waiting.size(), pending.size(), List.copyOf(notes));
        }

        /**
         * Marks the points committed now that are not marked yet: those the retention removes
         * apart (their marks count for a sweep, not for the mark that follows their removal).
         * False when one cannot be read (its file or a manifest damaged), kept or to be removed:
         * what it uses is unknown, so no sweep may judge; noted once per point.
         */
        boolean markAll() throws IOException {
            boolean judged = true;
            for (long id : repo.points().ids()) {
                if (marked.contains(id) || markedRemoved.contains(id)) {
                    continue;
                }
                try {
                    // empty only when its file is gone: only a prune removes points, and this one did;
                    // a file that is there but does not read is damaged, not gone
                    Optional<Point> p = repo.points().find(id);
                    if (p.isEmpty()) {
                        continue;
                    }
                    if (toRemove.contains(id)) {
                        markUsed(p.get(), usedByRemoved);
                        markedRemoved.add(id);
                    } else {
                        markUsed(p.get(), used);
                        marked.add(id);
                    }
                } catch (StoreAccessException unreachable) {
                    throw unreachable; // nothing is known of the point: no damage to note, the run fails
                } catch (RepositoryException | BadEntryException damaged) {
                    judged = false; // what it marked before failing stays marked: that only keeps more
                    if (unreadable.add(id)) {
                        notes.add("no sweep: point " + id + " could not be read, so what it uses is unknown ("
                                + damaged.getMessage() + "; see verify)");
                    }
                }
            }
            return judged;
        }

        /**
         * Merges the persistent index into a few objects naming the packs there now, so that the
         * next start-up reads those, not one object per run ({@link PackIndexes#compact}); when
         * there is one object already and every pack is in it, nothing is rewritten.
         */
        void compactIndex() throws IOException {
            Map<String, ObjectStore.Stored> live = new java.util.TreeMap<>();
            catalog.packObjects().forEach(o -> live.put(o.name(), o));
            List<ObjectStore.Stored> objects = PackIndexes.list(store);
            if (objects.size() == 1) {
                try {
                    if (catalog.readIndex(objects.getFirst()).keySet().equals(live.keySet())) {
                        return;
                    }
                } catch (RepositoryException damaged) {
                    // rewritten below
                }
            }
            checkLease();
            int[] n = PackIndexes.compact(catalog, live);
            if (n[0] != n[1]) {
                notes.add("index: " + n[0] + " object" + (n[0] == 1 ? "" : "s") + " merged into " + n[1]);
            }
        }

        /**
         * Marks the table entries of the manifests and chunks a point uses. The manifests not
         * marked yet are read {@value Pruner#MANIFEST_READS} at a time, a batch of blocks after
         * another: in a bucket each is a round trip, and a point of a large device names
         * thousands; a batch bounds what is held. A damaged point file fails with a
         * {@link RepositoryException}, a manifest that does not read with a {@link BadEntryException}.
         */
        void markUsed(Point p, BitSet used) throws IOException {
            HashList index = repo.points().index(p);
            Geometry g = p.meta().geometry();
            for (int from = 0; from < index.count(); from += MANIFEST_BATCH) {
                Map<Hash, Integer> unread = new LinkedHashMap<>(); // a manifest, the chunks of a block using it
                for (int b = from; b < Math.min(index.count(), from + MANIFEST_BATCH); b++) {
                    Hash mh = index.get(b);
                    int m = mh.isZero() ? -1 : catalog.entryNumber(EntryType.MANIFEST, mh);
                    if (!mh.isZero() && (m < 0 || !used.get(m))) { // else seen in this or another point
                        unread.putIfAbsent(mh, g.chunkCount(b));
                    }
                }
                Map<Hash, HashList> manifests = new ConcurrentHashMap<>();
                Parallel.forEach(MANIFEST_READS, unread.entrySet(),
                        e -> manifests.put(e.getKey(), packs.manifest(e.getKey(), e.getValue())));
                for (var read : manifests.entrySet()) {
                    used.set(catalog.entryNumber(EntryType.MANIFEST, read.getKey()));
                    HashList manifest = read.getValue();
                    for (int c = 0; c < manifest.count(); c++) {
                        Hash h = manifest.get(c);
                        int e = h.isZero() ? -1 : catalog.entryNumber(EntryType.CHUNK, h);
                        if (e >= 0) {
                            used.set(e); // a missing chunk is verify's to report; there is nothing to keep
                        }
                    }
                }
            }
        }

        /** The packs condemned by a pending marker. */
        Set<String> condemned() {
            Set<String> all = new HashSet<>();
            for (Condemned c : pending.values()) {
                all.addAll(c.packs());
            }
            return all;
        }

        /**
         * Deletes the packs of the ripe markers that no point committed now needs (the points
         * are listed after the markers were found ripe), then the markers; a needed pack is kept,
         * ordinary again.
         */
        void sweep(List<String> ripe) throws IOException {
            if (ripe.isEmpty()) {
                return;
            }
            if (!markAll()) {
                return; // noted by markAll: the markers stay for a later run
            }
            BitSet need = (BitSet) used.clone();
            need.or(usedByRemoved);
            Set<String> condemned = condemned();
            condemned.addAll(deleted);
            BitSet elsewhere = copiesOutside(condemned, need);
            Set<String> gone = new HashSet<>();
            Map<String, Integer> numbers = new java.util.HashMap<>();
            for (int n = 0; n < catalog.packCount(); n++) {
                numbers.put(catalog.packName(n), n);
            }
            for (String name : ripe) {
                for (String pack : pending.get(name).packs()) {
                    if (!gone.add(pack)) {
                        continue;
                    }
                    Integer n = numbers.get(pack);
                    if (n == null) {
                        if (catalog.damagedPacks().containsKey(store.describe(pack))) {
                            keptCondemned++; // its index does not read: verify reports it, nothing is judged
                        }
                        continue; // else gone: a sweep that crashed after deleting it
                    }
                    List<PackFile.Entry> entries;
                    try {
                        entries = PackFile.readIndex(catalog.codec(), catalog.source(n));
                    } catch (NoSuchFileException deletedBefore) {
                        continue;
                    }
                    long size = catalog.size(n);
                    boolean needed = false;
                    int moved = 0;
                    for (PackFile.Entry e : entries) {
                        int u = catalog.entryNumber(e.type(), e.hash());
                        moved += u >= 0 && copied.get(u) ? 1 : 0;
                        if (u >= 0 && need.get(u) && !copied.get(u) && !elsewhere.get(u)) {
                            needed = true; // a point uses it and it has no copy outside the condemned packs
                            break;
                        }
                    }
                    if (needed) {
                        keptCondemned++;
                        continue;
                    }
                    checkLease();
                    store.delete(pack);
                    deleted.add(pack);
                    removedPacks += moved > 0 ? 0 : 1; // this run's rewrite: counted as rewritten
                    removedEntries += entries.size() - moved;
                    freed += size;
                }
            }
            for (String name : ripe) {
                checkLease();
                store.delete(name);
                pending.remove(name);
            }
        }

        /**
         * The needed entries that have a copy in a pack listed now that no marker condemns and
         * this run did not delete: a pack no marker names is deleted only after a later mark
         * condemns it, so such a copy outlives the sweep. Judged by every pack's own index, not
         * by which copy the table holds, which depends on the order the packs were read in; a
         * pack finished since the table was read (a backup's new copy) counts too.
         */
        BitSet copiesOutside(Set<String> condemned, BitSet need) throws IOException {
            BitSet elsewhere = new BitSet();
            for (ObjectStore.Stored o : catalog.packObjects()) {
                if (condemned.contains(o.name())) {
                    continue;
                }
                List<PackFile.Entry> entries;
                try {
                    entries = PackFile.readIndex(catalog.codec(), PackFile.Source.of(store, o.name(), o.size()));
                } catch (NoSuchFileException | RepositoryException goneOrDamaged) {
                    continue; // no copy there to count on
                }
                for (PackFile.Entry e : entries) {
                    int u = catalog.entryNumber(e.type(), e.hash());
                    if (u >= 0 && need.get(u)) {
                        elsewhere.set(u);
                    }
                }
            }
            return elsewhere;
        }

        /**
         * Condemns the packs (not condemned yet) no point uses, and those mostly unused after
         * copying their used entries to a new pack; writes the marker, then names in it the
         * holders alive; sweeps it at once when there are none.
         */
        void mark() throws IOException {
            Set<String> condemned = condemned();
            condemned.addAll(deleted); // a copy there is no copy
            List<String> now = new ArrayList<>();
            int count = catalog.packCount();
            for (int n = 0; n < count; n++) {
                String pack = catalog.packName(n);
                if (condemned.contains(pack) || deleted.contains(pack)) {
                    continue;
                }
                List<PackFile.Entry> entries;
                try {
                    entries = PackFile.readIndex(catalog.codec(), catalog.source(n));
                } catch (NoSuchFileException gone) {
                    continue; // deleted by this run's sweep
                }
                List<PackFile.Entry> keep = new ArrayList<>();
                long total = 0;
                long usedBytes = 0;
                for (PackFile.Entry e : entries) {
                    total += e.length();
                    if (isNeededCopy(n, e, condemned)) {
                        keep.add(e);
                        usedBytes += e.length();
                    }
                }
                long size = catalog.size(n);
                if (keep.isEmpty()) {
                    now.add(pack);
                } else if ((total - usedBytes) * 4 >= total && keep.size() < entries.size()) {
                    checkLease();
                    freed -= rewrite(catalog.source(n), keep);
                    rewrittenPacks++;
                    now.add(pack);
                } else {
                    unusedLeft += entries.size() - keep.size();
                }
            }
            if (now.isEmpty()) {
                return;
            }
            condemnedPacks += now.size();
            Condemned c = Condemned.of(lock.name(), now);
            String name = Condemned.newName(c.written());
            checkLease();
            c.put(store, name); // durable before the holders are listed: who starts later sees it
            Set<String> live = others();
            c = c.waitingFor(live);
            checkLease();
            c.put(store, name);
            pending.put(name, c);
            if (live.isEmpty()) {
                sweep(List.of(name));
            }
        }

        /**
         * Whether a point needs this copy of an entry: it is the copy reads use, or the copy
         * reads use is condemned (then this one is kept), or it duplicates one that does not
         * read back (damaged: verify reports it), which must not be removed while it may be the
         * only good copy left.
         */
        boolean isNeededCopy(int pack, PackFile.Entry e, Set<String> condemned) throws IOException {
            int n = catalog.entryNumber(e.type(), e.hash());
            if (n < 0 || !used.get(n)) {
                return false;
            }
            EntryTable.Location at = catalog.location(n);
            if (at.pack() == pack && at.offset() == e.offset()) {
                return true;
            }
            if (condemned.contains(catalog.packName(at.pack())) && !copied.get(n)) {
                return true;
            }
            return !packs.reader().readCopyIsGood(e.type(), e.hash(), e.rawLength());
        }

        /**
         * Writes the given entries of a pack into a new pack and makes it durable (the store
         * synced); the old pack is then condemned. Returns the new pack's size.
         */
        long rewrite(PackFile.Source in, List<PackFile.Entry> keep) throws IOException {
            PackWriter w = PackWriter.create(store, catalog.codec());
            try {
                for (PackFile.Entry e : keep) {
                    byte[] frame = PackFile.readFrame(in, e.offset(), e.length());
                    w.append(e.type(), e.hash(), frame, 0, frame.length, e.rawLength());
                }
            } catch (IOException | RuntimeException e) {
                w.abandon();
                throw e;
            }
            w.finish();
            store.sync();
            for (PackFile.Entry e : keep) {
                int n = catalog.entryNumber(e.type(), e.hash());
                if (n >= 0) {
                    copied.set(n);
                }
            }
            return w.size();
        }
    }

    /** Makes the store read every pack again on its next use: prune changed them. */
    private static void reload(PackStore packs) {
        packs.appender().checkIdle();
        packs.catalog().forget();
    }
}
