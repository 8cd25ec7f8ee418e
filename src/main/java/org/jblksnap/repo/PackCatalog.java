package org.jblksnap.repo;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.jblksnap.error.IoMessages;

/**
 * Which packs there are under {@code packs/} in the store and where each entry is in them. On first use
 * every finished pack's index is read into an {@link EntryTable}, for dedup and reads; the
 * packs are numbered in the order they were read, and a pack this handle writes is numbered
 * when it starts; until it is finished, reads of its entries go to its writer.
 *
 * <p>A pack whose index cannot be read is left out and remembered with why
 * ({@link #damagedPacks}): what it holds counts as absent, so a backup stores it again. A
 * hash stored in several packs (after a crash, or by concurrent backups) is found in the first
 * pack read. A lookup that misses reads the packs finished since by other processes
 * ({@link #locate}) before it reports the entry missing. The packs a prune's marker condemned
 * (read before the packs, when the table is loaded) are read last and count as absent for dedup
 * ({@link #dedupEntry}): what they hold is stored again. Pack names and layout:
 * {@code docs/REPOSITORY.md#pack-files}. The persistent index objects and footers are read
 * through a {@link CatalogCache}, which in a long-lived process keeps them for its next handle
 * of the same repository: each load still lists the markers, the packs and the index objects,
 * and takes from the cache only what those listings name.
 *
 * <p>Thread-safe: its fields are guarded by its monitor (lock order: {@link PackStore}).
 */
final class PackCatalog {
    /** Where packs are, {@code packs/XX/ID.pack}. */
    static final String PREFIX = "packs/";

    private final ObjectStore store;
    private final ObjectCodec codec;
    /** What this process read of the repository before (nothing, unless it keeps a {@link CatalogCache}). */
    private final CatalogCache.Known known;

    // guarded by this
    /** Null until every pack's index was read: never kept half loaded. */
    private EntryTable table;
    /** Each pack's name, by its number in the table. */
    private final List<String> packs = new ArrayList<>();
    /** The size of each finished pack, by name. */
    private final Map<String, Long> sizes = new HashMap<>();
    /** The packs this handle is writing, by number: reads of their entries go to the writer. */
    private final Map<Integer, PackWriter> writing = new HashMap<>();
    private final Set<String> seen = new HashSet<>();
    private final Map<String, String> damaged = new TreeMap<>();
    /** The persistent index objects read so far. */
    private final Set<String> seenIndexes = new HashSet<>();
    /** Packs this handle finished that no index object names yet. */
    private final List<PackIndexes.IndexedPack> unindexed = new ArrayList<>();
    /** The packs some prune's marker condemned when the table was loaded, and their numbers. */
    private Set<String> condemned = Set.of();
    private final BitSet condemnedNumbers = new BitSet();

    PackCatalog(ObjectStore store, ObjectCodec codec, CatalogCache.Known known) {
        this.store = store;
        this.codec = codec;
        this.known = known;
    }

    ObjectStore store() {
        return store;
    }

    /** How the packs are encoded (sealed, in an encrypted repository). */
    ObjectCodec codec() {
        return codec;
    }

    /** The number of the table's entry for (type, h), or -1. */
    int entryNumber(EntryType type, Hash h) throws IOException {
        return table().find(type, h);
    }

    /**
     * The number of the entry for (type, h) a backup may refer to instead of storing it again,
     * or -1: none is stored, or its copy is in a condemned pack, which counts as absent for dedup
     * ({@code docs/REPOSITORY.md#verify-and-prune}).
     */
    int dedupEntry(EntryType type, Hash h) throws IOException {
        int n = entryNumber(type, h);
        if (n < 0) {
            return -1;
        }
        synchronized (this) {
            return condemnedNumbers.get(table.location(n).pack()) ? -1 : n;
        }
    }

    /** Whether an entry of that type and hash is stored (in a pack whose index reads). */
    boolean contains(EntryType type, Hash h) throws IOException {
        return entryNumber(type, h) >= 0;
    }

    EntryTable.Location location(int entry) throws IOException {
        return table().location(entry);
    }

    /** The name of the pack that holds the entry reads use. */
    synchronized String packOf(int entry) throws IOException {
        return packs.get(location(entry).pack());
    }

    synchronized String packName(int number) {
        return packs.get(number);
    }

    /** The pack's bytes: from its writer while this handle writes it, else from the store. */
    synchronized PackFile.Source source(int number) {
        PackWriter w = writing.get(number);
        String name = packs.get(number);
        if (w == null) {
            return PackFile.Source.of(store, name, sizes.get(name));
        }
        long size = w.size();
        return new PackFile.Source() {
            public String name() {
                return name;
            }

            public long size() {
                return size;
            }

            public byte[] read(long offset, int length) throws IOException {
                try {
                    return w.read(offset, length);
                } catch (IOException finishedMeanwhile) {
                    return store.getRange(name, offset, length); // a writer is done once its object is whole
                }
            }

            public String shown() {
                return store.describe(name);
            }
        };
    }

    /** The size of a finished pack. */
    synchronized long size(int number) {
        return sizes.get(packs.get(number));
    }

    /** How many packs the table knows (numbered from 0), after reading them on first use. */
    synchronized int packCount() throws IOException {
        table();
        return packs.size();
    }

    /**
     * Where the entry is; when the table has none, the packs finished since by other
     * processes are read first. Missing even then: a BadEntryException naming the damaged
     * packs, if any, since what they held counts as absent.
     */
    EntryTable.Location locate(EntryType type, Hash h) throws IOException {
        EntryTable.Location at = table().get(type, h);
        if (at != null) {
            return at;
        }
        synchronized (this) {
            scan();
            at = table.get(type, h);
            if (at == null) {
                throw new BadEntryException(type, h, true, "missing" + (damaged.isEmpty() ? ""
                        : " (" + damaged.size() + " damaged pack" + (damaged.size() > 1 ? "s" : "")
                                + " could not be read: " + String.join(", ", damaged.keySet()) + ")"));
            }
            return at;
        }
    }

    /** Whether the pack of that number was condemned by a prune's marker when the table was loaded. */
    synchronized boolean condemned(int number) {
        return condemnedNumbers.get(number);
    }

    /** The packs whose index could not be read (as messages name them), with why; they are not used. */
    synchronized Map<String, String> damagedPacks() throws IOException {
        table();
        return new TreeMap<>(damaged);
    }

    // for the appender

    /** Numbers a pack this handle starts writing. */
    synchronized int started(PackWriter w) {
        packs.add(w.name());
        writing.put(packs.size() - 1, w);
        return packs.size() - 1;
    }

    /** Records an entry appended to the pack of that number (unless one is recorded already). */
    void record(EntryType type, Hash h, int pack, long offset, int length) throws IOException {
        EntryTable t = table();
        if (!t.put(type, h, pack, offset, length)) {
            synchronized (this) {
                int n = t.find(type, h);
                if (condemnedNumbers.get(t.location(n).pack())) {
                    t.relocate(n, pack, offset, length); // stored again beside a condemned copy
                }
            }
        }
    }

    /** The pack of that number is whole in the store, of that size, with those entries. */
    synchronized void finished(int number, long size, List<PackFile.Entry> entries) {
        String name = packs.get(number);
        writing.remove(number);
        sizes.put(name, size);
        seen.add(name);
        unindexed.add(new PackIndexes.IndexedPack(name, size, entries));
    }

    /**
     * Writes a persistent index object for the packs finished since the last one (they must be
     * durable already): the next process reads it instead of their footers.
     */
    synchronized void writeIndex() throws IOException {
        if (!unindexed.isEmpty()) {
            seenIndexes.add(writeIndex(unindexed));
            unindexed.clear();
        }
    }

    /** Writes an index object naming the packs (durable before it returns); returns its name. */
    String writeIndex(List<PackIndexes.IndexedPack> packs) throws IOException {
        String name = PackIndexes.write(store, codec, packs);
        known.wrote(name, packs);
        return name;
    }

    /** The packs an index object as listed names, in its order; a RepositoryException when it is damaged. */
    Map<String, PackIndexes.IndexedPack> readIndex(ObjectStore.Stored listed) throws IOException {
        return known.index(store, codec, listed);
    }

    /** The entries a finished pack's own index lists, read and checked ({@link PackFile#readIndex}). */
    List<PackFile.Entry> readFooter(ObjectStore.Stored listed) throws IOException {
        return known.footer(store, codec, listed);
    }

    /** Index objects deleted (by a compaction). */
    void deletedIndexes(List<String> names) {
        known.deleted(names);
    }

    /** Forgets every pack, so that the next use reads them all again (after prune changed them). */
    synchronized void forget() {
        table = null;
        packs.clear();
        sizes.clear();
        writing.clear();
        seen.clear();
        damaged.clear();
        seenIndexes.clear();
        condemned = Set.of();
        condemnedNumbers.clear();
    }

    /** Every finished pack in the store, sorted by name (foreign names are skipped). */
    List<ObjectStore.Stored> packObjects() throws IOException {
        return store.list(PREFIX).stream().filter(o -> isPackName(o.name())).toList();
    }

    /** The table, after reading every pack's index on first use. */
    private synchronized EntryTable table() throws IOException {
        if (table == null) {
            table = new EntryTable();
            try {
                // the markers before the packs: a marker gone by now had its packs deleted before
                condemned = Condemned.packs(Condemned.list(store));
                scan();
            } catch (IOException | RuntimeException e) {
                forget(); // the next use scans again, never with a table half loaded
                throw e;
            }
        }
        return table;
    }

    /**
     * Reads the entries of every pack not read yet into the table: first from the persistent
     * index objects not read yet (a pack they name is taken from them when it is listed with the
     * same size and is not condemned), then each remaining pack's own index, by its footer;
     * condemned packs last, so that reads use another copy where there is one.
     */
    private synchronized void scan() throws IOException {
        List<ObjectStore.Stored> listed = packObjects();
        Map<String, ObjectStore.Stored> present = new HashMap<>();
        listed.forEach(o -> present.put(o.name(), o));
        Map<String, ObjectStore.Stored> indexes = new LinkedHashMap<>();
        PackIndexes.list(store).forEach(o -> indexes.put(o.name(), o));
        known.retain(indexes, present, condemned);
        for (ObjectStore.Stored index : indexes.values()) {
            if (!seenIndexes.add(index.name())) {
                continue;
            }
            Map<String, PackIndexes.IndexedPack> named;
            try {
                named = readIndex(index);
            } catch (IOException damagedOrGone) {
                continue; // the packs' own indexes serve instead
            }
            for (PackIndexes.IndexedPack ip : named.values()) {
                ObjectStore.Stored pack = present.get(ip.name());
                if (pack != null && pack.size() == ip.size() && !condemned.contains(ip.name()) && seen.add(ip.name())) {
                    add(ip.name(), ip.size(), ip.entries());
                }
            }
        }
        List<ObjectStore.Stored> objects = new ArrayList<>(listed);
        objects.sort(Comparator.comparing(o -> condemned.contains(o.name())));
        for (ObjectStore.Stored o : objects) {
            String p = o.name();
            if (!seen.add(p)) {
                continue;
            }
            List<PackFile.Entry> entries;
            try {
                entries = readFooter(o);
            } catch (NoSuchFileException deletedSinceListed) {
                continue; // a prune swept it after the listing: gone, not damaged
            } catch (IOException e) {
                damaged.put(store.describe(p), e instanceof RepositoryException ? e.getMessage()
                        : "pack " + store.describe(p) + ": " + IoMessages.reason(e));
                continue;
            }
            add(p, o.size(), entries);
        }
    }

    /** Numbers a finished pack and puts its entries in the table. */
    private void add(String pack, long size, List<PackFile.Entry> entries) {
        int number = packs.size();
        packs.add(pack);
        sizes.put(pack, size);
        if (condemned.contains(pack)) {
            condemnedNumbers.set(number);
        }
        for (PackFile.Entry e : entries) {
            table.put(e.type(), e.hash(), number, e.offset(), e.length());
        }
    }

    /** {@code packs/XX/ID.pack}: XX two lower-case hex digits, ID 32 starting with them. */
    static boolean isPackName(String name) {
        if (!name.startsWith(PREFIX)) {
            return false;
        }
        String[] parts = name.substring(PREFIX.length()).split("/", -1);
        if (parts.length != 2 || parts[0].length() != 2 || !isHex(parts[0])) {
            return false;
        }
        String n = parts[1];
        return n.length() == 32 + PackFile.SUFFIX.length() && n.endsWith(PackFile.SUFFIX)
                && isHex(n.substring(0, 32));
    }

    private static boolean isHex(String s) {
        return s.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f');
    }
}
