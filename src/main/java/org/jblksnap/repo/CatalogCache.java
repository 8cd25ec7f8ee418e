package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a long-lived process (the daemon) has read of the catalogues of the repositories it
 * opens, so that its next run against one reads only what is new there
 * ({@code docs/REPOSITORY.md#persistent-index}): the persistent index objects it read or wrote,
 * by name, and the packs' own indexes (footers) it read, by pack name. A {@link PackCatalog}
 * still lists the markers, {@code packs/} and {@code index/} on every load and takes from here
 * only what those listings show now as it was when read (the same name, size and time), so its
 * table is the one a load from scratch would build: neither an index object nor a pack changes
 * under its name (random, written whole once, deleted by a prune or a compaction), and one that
 * was replaced or written over since (damaged) shows another size or time, and is read again.
 * What the listings no longer show so is dropped; what failed to read (a damaged index object or
 * pack) is not kept, so the next load reads it again. An index object this process wrote is
 * taken as written, and with the record of the first listing that names it after.
 *
 * <p>Kept by location, for the repository found there with those settings (its {@code id})
 * and that master key: a repository made again at the same place (one with an {@code id}), or
 * another key, starts afresh. At most {@code repositories} locations are kept, the least recently opened dropped
 * first; each as index records, 49 bytes an entry. {@link #NONE} keeps nothing, for a command
 * that runs once. Thread-safe.
 */
public final class CatalogCache {
    /** Keeps nothing: each handle reads what it needs. */
    public static final CatalogCache NONE = new CatalogCache(0);

    private final int repositories;
    /** By location, the least recently opened first. */
    private final Map<String, Known> known;

    /** Keeps what was read of the last {@code repositories} repositories opened through it. */
    public CatalogCache(int repositories) {
        this.repositories = repositories;
        this.known = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Known> eldest) {
                return size() > repositories;
            }
        };
    }

    /** What is known of the repository at that location with those settings, opened with that codec. */
    synchronized Known of(String location, RepositoryConfig config, ObjectCodec codec) {
        // the id of no bytes: under an encrypted repository's id key, so it tells keys apart
        List<Object> identity = List.of(config, codec.id(new byte[0], 0, 0));
        Known k = known.get(location);
        if (k == null || !k.identity.equals(identity)) {
            k = new Known(identity, repositories > 0);
            known.put(location, k);
        }
        return k;
    }

    /** A pack as the cache holds it: its name, size and index records. */
    private record Packed(String name, long size, byte[] records) {
        static Packed of(String name, long size, List<PackFile.Entry> entries) {
            return new Packed(name, size, PackFile.records(entries));
        }

        /** The packs an index object names, as the cache holds them. */
        static List<Packed> of(Collection<PackIndexes.IndexedPack> packs) {
            return packs.stream().map(p -> of(p.name(), p.size(), p.entries())).toList();
        }

        List<PackFile.Entry> entries() throws RepositoryException {
            return PackFile.entries(ByteBuffer.wrap(records), records.length / PackFile.RECORD, size - PackFile.FOOTER,
                    name);
        }
    }

    /**
     * What was read of an object, with the listing's record of it then (name, size, time): taken
     * again only while a listing shows the same. stamp is null for an index object this process
     * wrote, until a listing names it.
     */
    private record Kept<T>(ObjectStore.Stored stamp, T content) {
        boolean fits(ObjectStore.Stored listed) {
            return stamp == null || stamp.equals(listed);
        }
    }

    /** What is known of one repository: the index objects by name, the footers read by pack name. */
    static final class Known {
        private final List<Object> identity;
        private final boolean keeps;
        // guarded by this
        private final Map<String, Kept<List<Packed>>> indexes = new HashMap<>();
        private final Map<String, Kept<Packed>> footers = new HashMap<>();

        private Known(List<Object> identity, boolean keeps) {
            this.identity = identity;
            this.keeps = keeps;
        }

        /** The packs an index object names, in its order: as read or written before, else read now. */
        Map<String, PackIndexes.IndexedPack> index(ObjectStore store, ObjectCodec codec, ObjectStore.Stored listed)
                throws IOException {
            Kept<List<Packed>> kept;
            synchronized (this) {
                kept = indexes.get(listed.name());
            }
            if (kept == null || !kept.fits(listed)) {
                Map<String, PackIndexes.IndexedPack> read = PackIndexes.read(store, codec, listed.name());
                keep(indexes, listed.name(), listed, Packed.of(read.values()));
                return read;
            }
            Map<String, PackIndexes.IndexedPack> packs = new LinkedHashMap<>();
            for (Packed p : kept.content()) {
                packs.put(p.name(), new PackIndexes.IndexedPack(p.name(), p.size(), p.entries()));
            }
            return packs;
        }

        /** The entries a pack's own index lists: as read before of the pack as listed, else read now. */
        List<PackFile.Entry> footer(ObjectStore store, ObjectCodec codec, ObjectStore.Stored listed) throws IOException {
            Kept<Packed> kept;
            synchronized (this) {
                kept = footers.get(listed.name());
            }
            if (kept != null && kept.fits(listed)) {
                return kept.content().entries();
            }
            List<PackFile.Entry> entries = PackFile.readIndex(codec,
                    PackFile.Source.of(store, listed.name(), listed.size()));
            keep(footers, listed.name(), listed, Packed.of(listed.name(), listed.size(), entries));
            return entries;
        }

        /** An index object this process wrote naming those packs, in its order. */
        void wrote(String name, Collection<PackIndexes.IndexedPack> packs) {
            keep(indexes, name, null, Packed.of(packs));
        }

        /** Index objects this process deleted (a compaction's). */
        synchronized void deleted(Collection<String> names) {
            indexes.keySet().removeAll(names);
        }

        private <T> void keep(Map<String, Kept<T>> map, String name, ObjectStore.Stored stamp, T content) {
            if (keeps) {
                synchronized (this) {
                    map.put(name, new Kept<>(stamp, content));
                }
            }
        }

        /**
         * Drops what the listings no longer show as it was read: index objects and footers not
         * listed, or listed at another size or time (replaced or damaged since); takes the
         * listing's record of an index object this process wrote; and drops the footers of packs
         * a kept index object names with that size, which serves instead, unless they are
         * condemned (their footers are read).
         */
        synchronized void retain(Map<String, ObjectStore.Stored> listedIndexes,
                Map<String, ObjectStore.Stored> listedPacks, Set<String> condemned) {
            indexes.entrySet().removeIf(e -> !listedIndexes.containsKey(e.getKey())
                    || !e.getValue().fits(listedIndexes.get(e.getKey())));
            indexes.replaceAll((name, k) -> new Kept<>(listedIndexes.get(name), k.content()));
            Map<String, Long> named = new HashMap<>();
            indexes.values().forEach(k -> k.content().forEach(p -> named.put(p.name(), p.size())));
            footers.values().removeIf(k -> !k.stamp().equals(listedPacks.get(k.stamp().name())) // always stamped
                    || Long.valueOf(k.stamp().size()).equals(named.get(k.stamp().name()))
                            && !condemned.contains(k.stamp().name()));
        }
    }
}
