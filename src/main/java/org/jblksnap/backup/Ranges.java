package org.jblksnap.backup;

import java.util.Arrays;
import java.util.List;

import org.jblksnap.nbd.client.Extent;

/** A set of byte offsets as ranges [start, end): sorted, disjoint and never adjacent. Immutable. */
final class Ranges {
    static final Ranges EMPTY = new Ranges(new long[0]);

    /** start0, end0, start1, end1, … */
    private final long[] bounds;

    private Ranges(long[] bounds) {
        this.bounds = bounds;
    }

    static Ranges of(long start, long end) {
        return new Builder().add(start, end).build();
    }

    /** The extents that have the flag (want true) or lack it (want false). */
    static Ranges of(List<Extent> extents, int flag, boolean want) {
        Builder b = new Builder();
        for (Extent e : extents) {
            if (e.has(flag) == want) {
                b.add(e.offset(), e.end());
            }
        }
        return b.build();
    }

    int count() {
        return bounds.length / 2;
    }

    long start(int i) {
        return bounds[2 * i];
    }

    long end(int i) {
        return bounds[2 * i + 1];
    }

    boolean isEmpty() {
        return bounds.length == 0;
    }

    long bytes() {
        long n = 0;
        for (int i = 0; i < count(); i++) {
            n += end(i) - start(i);
        }
        return n;
    }

    /** Zeroes these ranges of buf. */
    void zeroIn(byte[] buf) {
        for (int i = 0; i < count(); i++) {
            Arrays.fill(buf, (int) start(i), (int) end(i), (byte) 0);
        }
    }

    /** Copies these ranges of buf from src, whose byte 0 is byte srcStart of buf. */
    void copyInto(byte[] buf, byte[] src, int srcStart) {
        for (int i = 0; i < count(); i++) {
            int from = (int) start(i);
            System.arraycopy(src, from - srcStart, buf, from, (int) end(i) - from);
        }
    }

    /** Whether [from, to) is wholly in the set. */
    boolean covers(long from, long to) {
        Ranges c = clip(from, to);
        return c.count() == 1 && c.start(0) == from && c.end(0) == to;
    }

    /** The part of the set within [from, to). */
    Ranges clip(long from, long to) {
        int i = firstEndingAfter(from);
        Builder b = new Builder();
        for (; i < count() && start(i) < to; i++) {
            b.add(Math.max(start(i), from), Math.min(end(i), to));
        }
        return b.build();
    }

    /** Every range widened to multiples of unit (a power of two), the ends at most limit. */
    Ranges align(int unit, long limit) {
        if (unit == 1) {
            return this;
        }
        Builder b = new Builder();
        for (int i = 0; i < count(); i++) {
            b.add(start(i) & -unit, Math.min(limit, (end(i) + unit - 1) & -unit));
        }
        return b.build();
    }

    /** Every range moved by delta. */
    Ranges shift(long delta) {
        long[] moved = bounds.clone();
        for (int i = 0; i < moved.length; i++) {
            moved[i] += delta;
        }
        return new Ranges(moved);
    }

    /** The offsets in both sets. */
    Ranges and(Ranges other) {
        return combine(other, true);
    }

    /** The offsets in this set and not in the other. */
    Ranges minus(Ranges other) {
        return combine(other, false);
    }

    private Ranges combine(Ranges o, boolean keepCommon) {
        Builder b = new Builder();
        for (int i = 0; i < count(); i++) {
            long s = start(i);
            long e = end(i);
            long pos = s;
            for (int k = o.firstEndingAfter(s); k < o.count() && o.start(k) < e; k++) {
                long os = Math.max(o.start(k), s);
                long oe = Math.min(o.end(k), e);
                if (keepCommon) {
                    b.add(os, oe);
                } else {
                    b.add(pos, os);
                }
                pos = oe;
            }
            if (!keepCommon) {
                b.add(pos, e);
            }
        }
        return b.build();
    }

    /** The index of the first range that ends after offset (count() if none). */
    private int firstEndingAfter(long offset) {
        int lo = 0;
        int hi = count();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (end(mid) <= offset) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Ranges r && Arrays.equals(bounds, r.bounds);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bounds);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < count(); i++) {
            s.append(i == 0 ? "" : ", ").append(start(i)).append('-').append(end(i));
        }
        return s.append(']').toString();
    }

    /** Collects ranges given in ascending order of start; overlapping or adjacent ones merge. */
    static final class Builder {
        private long[] b = new long[8];
        private int n;

        Builder add(long start, long end) {
            if (end <= start) {
                return this;
            }
            if (n > 0 && start < b[n - 2]) {
                throw new IllegalArgumentException("range " + start + "-" + end + " given out of order");
            }
            if (n > 0 && start <= b[n - 1]) {
                b[n - 1] = Math.max(b[n - 1], end);
                return this;
            }
            if (n == b.length) {
                b = Arrays.copyOf(b, 2 * n);
            }
            b[n++] = start;
            b[n++] = end;
            return this;
        }

        Ranges build() {
            return n == 0 ? EMPTY : new Ranges(Arrays.copyOf(b, n));
        }
    }
}
