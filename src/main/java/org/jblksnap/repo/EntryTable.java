package org.jblksnap.repo;

import java.util.Arrays;

/**
 * Where every stored entry is: (type, hash) → (pack number, offset, compressed length), for
 * dedup and reads. Built for millions of entries (1 TiB of distinct data in 64 KiB chunks
 * is 16M of them) without an object each: the entries lie in pages of primitive arrays
 * (the hash as four longs, then three ints: pack number and type, offset, length; 44 bytes)
 * in the order they were added, and an open-addressing table of ints (linear probing, at
 * most 3/4 full) finds an entry from the first 8 bytes of its hash; the rest of the hash
 * and the type are compared before an entry counts as found. About 50 bytes an entry in
 * all. An entry's number (its place in that order) never changes, so callers can keep
 * marks per entry in a bit set. The first entry added for a (type, hash) stays: later
 * copies (after a crash, or from a concurrent backup) are not recorded, unless the first is in
 * a condemned pack ({@link #relocate}). Thread-safe.
 */
final class EntryTable {
    /** Where an entry is. */
    record Location(int pack, long offset, int length) {
    }

    private static final int PAGE_SHIFT = 14;
    private static final int PAGE = 1 << PAGE_SHIFT;
    private static final long MAX_OFFSET = 0xFFFF_FFFFL;
    /** The slot table is at most 3/4 full and at most 2^30 ints (it doubles, as an int array). */
    private static final int MAX_ENTRIES = (1 << 30) / 4 * 3;

    private long[][] hashes = new long[0][];
    private int[][] packs = new int[0][];
    private int[][] offsets = new int[0][];
    private int[][] lengths = new int[0][];
    private int size;
    /** Entry number + 1 in each used slot, 0 in a free one. */
    private int[] slots = new int[64];

    /** Entries recorded. */
    synchronized int size() {
        return size;
    }

    /** The number of the entry for (type, h), or -1. */
    synchronized int find(EntryType type, Hash h) {
        int s = slotOf(type, h);
        return slots[s] - 1;
    }

    /** Where the entry for (type, h) is, or null when there is none. */
    synchronized Location get(EntryType type, Hash h) {
        int e = find(type, h);
        return e < 0 ? null : location(e);
    }

    synchronized Location location(int entry) {
        checkEntry(entry);
        int page = entry >>> PAGE_SHIFT;
        int i = entry & (PAGE - 1);
        return new Location(packs[page][i] >>> 1, Integer.toUnsignedLong(offsets[page][i]), lengths[page][i]);
    }

    /**
     * Records an entry unless one of that type and hash is there already; returns whether it
     * was recorded.
     */
    synchronized boolean put(EntryType type, Hash h, int pack, long offset, int length) {
        if (pack < 0 || pack > Integer.MAX_VALUE >>> 1 || offset < 0 || offset > MAX_OFFSET || length < 0) {
            throw new IllegalArgumentException("entry out of range: pack " + pack + ", offset " + offset + ", length "
                    + length);
        }
        int s = slotOf(type, h);
        if (slots[s] != 0) {
            return false;
        }
        if (size == MAX_ENTRIES) {
            throw new IllegalStateException("the repository holds " + size + " entries, the most one process indexes"
                    + " (a larger chunk size makes fewer)");
        }
        int entry = size++;
        int page = entry >>> PAGE_SHIFT;
        if (page == hashes.length) {
            hashes = Arrays.copyOf(hashes, page + 1);
            packs = Arrays.copyOf(packs, page + 1);
            offsets = Arrays.copyOf(offsets, page + 1);
            lengths = Arrays.copyOf(lengths, page + 1);
            hashes[page] = new long[4 * PAGE];
            packs[page] = new int[PAGE];
            offsets[page] = new int[PAGE];
            lengths[page] = new int[PAGE];
        }
        int i = entry & (PAGE - 1);
        long[] hp = hashes[page];
        hp[4 * i] = h.a();
        hp[4 * i + 1] = h.b();
        hp[4 * i + 2] = h.c();
        hp[4 * i + 3] = h.d();
        packs[page][i] = pack << 1 | (type == EntryType.MANIFEST ? 1 : 0);
        offsets[page][i] = (int) offset;
        lengths[page][i] = length;
        slots[s] = entry + 1;
        if (size > slots.length / 4 * 3) {
            grow();
        }
        return true;
    }

    /**
     * Moves an entry to another copy (of the same type and hash): a backup stored again what a
     * condemned pack holds, and dedup and reads go to the new copy from now on.
     */
    synchronized void relocate(int entry, int pack, long offset, int length) {
        checkEntry(entry);
        if (pack < 0 || pack > Integer.MAX_VALUE >>> 1 || offset < 0 || offset > MAX_OFFSET || length < 0) {
            throw new IllegalArgumentException("entry out of range: pack " + pack + ", offset " + offset + ", length "
                    + length);
        }
        int page = entry >>> PAGE_SHIFT;
        int i = entry & (PAGE - 1);
        packs[page][i] = pack << 1 | (packs[page][i] & 1);
        offsets[page][i] = (int) offset;
        lengths[page][i] = length;
    }

    /** The slot that holds (type, h), or the free slot where it would go. */
    private int slotOf(EntryType type, Hash h) {
        int mask = slots.length - 1;
        int typeBit = type == EntryType.MANIFEST ? 1 : 0;
        for (int s = start(h.a(), mask);; s = (s + 1) & mask) {
            int e = slots[s] - 1;
            if (e < 0) {
                return s;
            }
            long[] p = hashes[e >>> PAGE_SHIFT];
            int i = e & (PAGE - 1);
            if (p[4 * i] == h.a() && p[4 * i + 1] == h.b() && p[4 * i + 2] == h.c() && p[4 * i + 3] == h.d()
                    && (packs[e >>> PAGE_SHIFT][i] & 1) == typeBit) {
                return s;
            }
        }
    }

    /** The first slot to probe for a hash whose first 8 bytes are a (SHA-256 bits are uniform). */
    private static int start(long a, int mask) {
        return (int) (a ^ a >>> 32) & mask;
    }

    private void grow() {
        int[] bigger = new int[slots.length * 2];
        int mask = bigger.length - 1;
        for (int e = 0; e < size; e++) {
            int s = start(hashes[e >>> PAGE_SHIFT][4 * (e & (PAGE - 1))], mask);
            while (bigger[s] != 0) {
                s = (s + 1) & mask;
            }
            bigger[s] = e + 1;
        }
        slots = bigger;
    }

    private void checkEntry(int entry) {
        if (entry < 0 || entry >= size) {
            throw new IndexOutOfBoundsException("entry " + entry + " of " + size);
        }
    }
}
