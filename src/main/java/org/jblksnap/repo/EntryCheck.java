package org.jblksnap.repo;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What verification knows of the stored entries: which are good (decompressed, of the right
 * length, hashing to their name), which are bad and why, and which the points checked so far
 * use. Entries are checked when a pack is read whole ({@link #readPack}) or else when first
 * used. Only the copy of an entry that reads use (the one the repository's table names) counts
 * as used; other copies count as unused, and a bad one is a problem too. Thread-safe.
 */
public final class EntryCheck {
    /** The outcome of one use: the problem (null when the entry is good) and whether it was the first. */
    public record Use(String problem, boolean first) {
    }

    private final PackCatalog catalog;
    private final EntryReader reader;
    private final BitSet checked = new BitSet();
    private final BitSet inPacksRead = new BitSet();
    private final BitSet used = new BitSet();
    private final Map<Integer, String> bad = new HashMap<>();
    /** By entry number, for the good ones. */
    private int[] rawLengths = new int[1024];
    private final List<String> problems = new ArrayList<>();
    private long copies;
    private int packsRead;
    private int packsSwept;
    private long usedChunks;
    private long usedChunkBytes;

    public EntryCheck(PackStore store) {
        this.catalog = store.catalog();
        this.reader = store.reader();
    }

    /** The packs to read whole, numbered from 0 (not those whose index could not be read). */
    public int packCount() throws IOException {
        return catalog.packCount();
    }

    public long packBytes(int pack) throws IOException {
        return catalog.size(pack);
    }

    /**
     * Reads a pack whole: its index again (checksum) and every entry (decompressed, its length
     * the one the index gives, its content hashing to its name).
     */
    public void readPack(int pack) throws IOException {
        ObjectStore store = catalog.store();
        String name = catalog.packName(pack);
        String file = store.describe(name);
        List<PackFile.Entry> entries;
        byte[] whole;
        try {
            whole = store.get(name); // one request for the whole pack
        } catch (NoSuchFileException e) {
            if (catalog.condemned(pack)) {
                // A prune's sweep: its marker was ripe (no holder alive when it was whole, this one
                // came later) and what the points use has a copy elsewhere, or the sweep kept it.
                synchronized (this) {
                    packsSwept++;
                }
            } else {
                problem("pack " + file + ": gone since the repository was opened");
            }
            return;
        }
        PackFile.Source ch = PackFile.Source.of(whole, name, file);
        try {
            entries = PackFile.readIndex(catalog.codec(), ch);
        } catch (RepositoryException e) {
            problem(e.getMessage());
            return;
        }
        byte[] content = new byte[reader.maxLength()]; // each entry's, in turn: no array per entry
        for (PackFile.Entry e : entries) {
            String why = null;
            try {
                // in place in the pack read whole (readIndex keeps every entry before the index)
                reader.decode(e.type(), e.hash(), whole, Math.toIntExact(e.offset()), e.length(), e.rawLength(), file,
                        content, 0);
            } catch (BadEntryException x) {
                why = x.getMessage();
            }
            int n = catalog.entryNumber(e.type(), e.hash());
            EntryTable.Location at = n < 0 ? null : catalog.location(n);
            synchronized (this) {
                copies++;
                if (at != null && at.pack() == pack && at.offset() == e.offset()) {
                    record(n, why, e.rawLength());
                    inPacksRead.set(n);
                } else if (why != null) {
                    problems.add(why + " (a copy that nothing reads)");
                }
            }
        }
        synchronized (this) {
            packsRead++;
        }
    }

    private void record(int n, String why, int rawLength) {
        checked.set(n);
        if (why != null) {
            bad.put(n, why);
        } else {
            if (n >= rawLengths.length) {
                rawLengths = Arrays.copyOf(rawLengths, Math.max(n + 1, 2 * rawLengths.length));
            }
            rawLengths[n] = rawLength;
        }
    }

    /**
     * Records a use of the entry where content of the given length is needed, checking the
     * entry first if no pack read did. Returns the problem, if any, and whether this was its
     * first use.
     */
    public Use use(EntryType type, Hash h, int length) throws IOException {
        int n = catalog.entryNumber(type, h);
        if (n < 0) {
            try {
                reader.get(type, h, length); // looks for packs written since, then says missing
            } catch (BadEntryException e) {
                return new Use(e.getMessage(), true);
            }
            n = catalog.entryNumber(type, h);
        }
        boolean known;
        synchronized (this) {
            known = checked.get(n);
        }
        if (!known) {
            String why = null;
            try {
                reader.get(type, h, length);
            } catch (BadEntryException e) {
                why = e.getMessage();
            }
            synchronized (this) {
                record(n, why, length);
            }
        }
        synchronized (this) {
            boolean first = !used.get(n);
            used.set(n);
            String why = bad.get(n);
            if (why == null && rawLengths[n] != length) {
                why = type + " " + h.hex() + ": is " + rawLengths[n] + " bytes where " + length + " are needed";
            }
            if (first && why == null && type == EntryType.CHUNK) {
                usedChunks++;
                usedChunkBytes += length;
            }
            return new Use(why, first);
        }
    }

    /** Whether a use of the entry was recorded already (reading it again ahead would be for nothing). */
    public boolean used(EntryType type, Hash h) throws IOException {
        int n = catalog.entryNumber(type, h);
        synchronized (this) {
            return n >= 0 && used.get(n);
        }
    }

    private synchronized void problem(String p) {
        problems.add(p);
    }

    /** Packs read whole. */
    public synchronized int packsRead() {
        return packsRead;
    }

    /** Condemned packs a prune deleted before they were read whole: not checked, not a problem. */
    public synchronized int packsSwept() {
        return packsSwept;
    }

    /** Distinct good chunks used, and their bytes. */
    public synchronized long usedChunks() {
        return usedChunks;
    }

    public synchronized long usedChunkBytes() {
        return usedChunkBytes;
    }

    /** Entries of the packs read that no use named (other copies of used ones included). */
    public synchronized long unusedEntries() {
        BitSet usedRead = (BitSet) used.clone();
        usedRead.and(inPacksRead);
        return copies - usedRead.cardinality();
    }

    /**
     * The problems found apart from uses: packs read whole that turned out damaged, bad copies
     * nothing reads, and bad entries nothing used.
     */
    public synchronized List<String> problems() {
        List<String> all = new ArrayList<>(problems);
        bad.forEach((n, why) -> {
            if (!used.get(n)) {
                all.add(why + " (used by no point)");
            }
        });
        return all;
    }
}
