package org.jblksnap.nbd.server;

import java.util.Arrays;

/**
 * The answer of one meta context to a block status query: consecutive extents from the
 * query's offset, each a length and status flags. Neighbours with equal flags are merged;
 * nothing is kept past the query's end or past the descriptor limit, so a context can simply
 * add until {@link #full()}.
 */
public final class Extents {
    /** The spec asks for at most 2^20 descriptors in one chunk. */
    public static final int MAX_DESCRIPTORS = 1 << 20;

    private final long wanted;
    private final int maxCount;
    private long[] lengths = new long[8];
    private int[] flags = new int[8];
    private int count;
    private long covered;

    /** For a query of wanted bytes, at most maxCount extents (a reader in this process asks as the server does). */
    public Extents(long wanted, int maxCount) {
        this.wanted = wanted;
        this.maxCount = maxCount;
    }

    /** Appends an extent of length bytes (clipped to what the query still wants). */
    public void add(long length, int status) {
        if (length <= 0 || full()) {
            return;
        }
        length = Math.min(length, wanted - covered);
        covered += length;
        if (count > 0 && flags[count - 1] == status) {
            lengths[count - 1] += length;
            return;
        }
        if (count == lengths.length) {
            lengths = Arrays.copyOf(lengths, count * 2);
            flags = Arrays.copyOf(flags, count * 2);
        }
        lengths[count] = length;
        flags[count] = status;
        count++;
    }

    /** True when the query is covered or no further descriptor may be added. */
    public boolean full() {
        return covered >= wanted || (count >= maxCount && covered > 0);
    }

    public int count() {
        return count;
    }

    public long length(int i) {
        return lengths[i];
    }

    public int flags(int i) {
        return flags[i];
    }
}
