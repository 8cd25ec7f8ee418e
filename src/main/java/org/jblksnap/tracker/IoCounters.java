package org.jblksnap.tracker;

import java.util.concurrent.atomic.LongAdder;

/**
 * What passed a device's I/O path since it was attached: requests, bytes and the time they
 * took, reads and writes apart (the figures of /proc/diskstats for a block device). Counted
 * without a lock on every request; whoever wants them as metrics reads them.
 */
public final class IoCounters {
    private final LongAdder reads = new LongAdder();
    private final LongAdder readBytes = new LongAdder();
    private final LongAdder readNanos = new LongAdder();
    private final LongAdder writes = new LongAdder();
    private final LongAdder writtenBytes = new LongAdder();
    private final LongAdder writeNanos = new LongAdder();

    void read(long bytes, long nanos) {
        reads.increment();
        readBytes.add(bytes);
        readNanos.add(nanos);
    }

    void write(long bytes, long nanos) {
        writes.increment();
        writtenBytes.add(bytes);
        writeNanos.add(nanos);
    }

    public long reads() {
        return reads.sum();
    }

    public long readBytes() {
        return readBytes.sum();
    }

    /** The time reads took, in total. */
    public long readNanos() {
        return readNanos.sum();
    }

    public long writes() {
        return writes.sum();
    }

    public long writtenBytes() {
        return writtenBytes.sum();
    }

    /** The time writes took, in total, COW copies included. */
    public long writeNanos() {
        return writeNanos.sum();
    }
}
