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
 * by name, and the packs' own indexes (footers) it read, by pack name and size. A
 * {@link PackCatalog} still lists the markers, {@code packs/} and {@code index/} on every load
 * and takes from here only what those listings name now, so its table is the one a load from
 * scratch would build: an index object never changes under its name (random, written whole
 * once, deleted by a compaction), nor does a pack (taken only when listed with the size it had
 * when read). What the listings no longer name is dropped; what failed to read (a damaged index
 * object or pack) is not kept, so the next load reads it again.
 *
 * <p>Kept by location, for the repository found there with those settings (its {@code id})
 * and that key: a repository made again at the same place, or opened with another key, starts
 * afresh. At most {@code repositories} locations are kept, the least recently opened dropped
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

        List<PackFile.Entry> entries() throws RepositoryException {
            return PackFile.entries(ByteBuffer.wrap(records), records.length / PackFile.RECORD, size - PackFile.FOOTER,
                    name);
        }
    }

    /** What is known of one repository: the index objects by name, the footers read by pack name. */
    static final class Known {
        private final List<Object> identity;
        private final boolean keeps;
        // guarded by this
        private final Map<String, List<Packed>> indexes = new HashMap<>();
        private final Map<String, Packed> footers = new HashMap<>();

        private Known(List<Object> identity, boolean keeps) {
            this.identity = identity;
            this.keeps = keeps;
        }

        /** The packs an index object names, in its order: as read or written before, else read now. */
        Map<String, PackIndexes.IndexedPack> index(ObjectStore store, ObjectCodec codec, String name)
                throws IOException {
            List<Packed> kept;
            synchronized (this) {
                kept = indexes.get(name);
            }
            if (kept == null) {
                Map<String, PackIndexes.IndexedPack> read = PackIndexes.read(store, codec, name);
                wrote(name, read.values());
                return read;
            }
            Map<String, PackIndexes.IndexedPack> packs = new LinkedHashMap<>();
            for (Packed p : kept) {
                packs.put(p.name(), new PackIndexes.IndexedPack(p.name(), p.size(), p.entries()));
            }
            return packs;
        }

        /** The entries a pack's own index lists: as read before at that size, else read now. */
        List<PackFile.Entry> footer(ObjectStore store, ObjectCodec codec, String pack, long size) throws IOException {
            Packed kept;
            synchronized (this) {
                kept = footers.get(pack);
            }
            if (kept != null && kept.size() == size) {
                return kept.entries();
            }
            List<PackFile.Entry> entries = PackFile.readIndex(codec, PackFile.Source.of(store, pack, size));
            if (keeps) {
                synchronized (this) {
                    footers.put(pack, Packed.of(pack, size, entries));
                }
            }
            return entries;
        }

        /** An index object this process wrote (or read) naming those packs, in its order. */
        void wrote(String name, Collection<PackIndexes.IndexedPack> packs) {
            if (keeps) {
                List<Packed> list = packs.stream().map(p -> Packed.of(p.name(), p.size(), p.entries())).toList();
                synchronized (this) {
                    indexes.put(name, list);
                }
            }
        }

        /**
         * Drops what the listings no longer name: index objects not listed, and footers of packs
         * not listed with the size read; also those of packs a kept index object names with that
         * size, which serves instead, unless they are condemned (their footers are read).
         */
        synchronized void retain(Set<String> listedIndexes, Map<String, Long> listedPacks, Set<String> condemned) {
            indexes.keySet().retainAll(listedIndexes);
            Map<String, Long> named = new HashMap<>();
            indexes.values().forEach(l -> l.forEach(p -> named.put(p.name(), p.size())));
            footers.values().removeIf(p -> !Long.valueOf(p.size()).equals(listedPacks.get(p.name()))
                    || Long.valueOf(p.size()).equals(named.get(p.name())) && !condemned.contains(p.name()));
        }
    }
}
