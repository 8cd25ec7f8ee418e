package org.jblksnap.nbd.client;

import java.util.List;

/** One block status descriptor: a range and its flags in one metadata context. */
public record Extent(long offset, long length, int flags) {
    public long end() {
        return offset + length;
    }

    public boolean has(int flag) {
        return (flags & flag) == flag;
    }

    /**
     * Appends x, which starts where the list's last extent ends, to a context's extents: merged
     * into that last one when their flags are the same, or when it is empty (a list started with
     * an empty extent at its offset takes the flags of what comes first).
     */
    public static void append(List<Extent> list, Extent x) {
        Extent last = list.isEmpty() ? null : list.getLast();
        if (last != null && (last.length() == 0 || last.flags() == x.flags())) {
            list.set(list.size() - 1, new Extent(last.offset(), last.length() + x.length(),
                    last.length() == 0 ? x.flags() : last.flags()));
        } else {
            list.add(x);
        }
    }
}
