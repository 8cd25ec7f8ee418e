package org.jblksnap.nbd.client;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gathers the extents of several metadata contexts over one range from successive
 * BLOCK_STATUS replies, each of which may describe a different length per context.
 * Adjacent extents with equal flags are merged.
 */
final class ExtentCollector {
    private final long end;
    private final Map<String, List<Extent>> lists = new HashMap<>();

    ExtentCollector(long offset, long length, Set<String> contexts) {
        this.end = offset + length;
        for (String c : contexts) {
            List<Extent> l = new ArrayList<>();
            l.add(new Extent(offset, 0, 0));
            lists.put(c, l);
        }
    }

    long end() {
        return end;
    }

    /** Where the next request starts (the least covered context), or -1 when all are done. */
    long nextOffset() {
        long next = end;
        for (List<Extent> l : lists.values()) {
            next = Math.min(next, l.getLast().end());
        }
        return next == end ? -1 : next;
    }

    void add(Map<String, List<Extent>> reply) {
        for (Map.Entry<String, List<Extent>> e : reply.entrySet()) {
            List<Extent> l = lists.get(e.getKey());
            for (Extent x : e.getValue()) {
                long covered = l.getLast().end();
                if (x.end() <= covered) {
                    continue;
                }
                long from = Math.max(x.offset(), covered);
                Extent.append(l, new Extent(from, x.end() - from, x.flags()));
            }
        }
    }

    Map<String, List<Extent>> result() {
        return lists;
    }
}
