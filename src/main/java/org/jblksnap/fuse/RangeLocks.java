package org.jblksnap.fuse;

import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Striped read-write locks over byte ranges of one export. Whole-sector writes take their
 * range shared, read-modify-write of partial sectors takes it exclusive, so a partial write
 * never merges a sector with bytes that another write replaced meanwhile.
 *
 * <p>A range maps to consecutive lock units, each unit to a stripe (unit mod {@value #STRIPES}).
 * Stripes are always taken in ascending index order, so two ranges never deadlock; two units
 * sharing a stripe only wait for each other.
 */
final class RangeLocks {
    static final int UNIT_SHIFT = 16;
    static final int STRIPES = 256;
    private static final int MASK = STRIPES - 1;

    private final ReentrantReadWriteLock[] stripes = new ReentrantReadWriteLock[STRIPES];

    RangeLocks() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantReadWriteLock();
        }
    }

    /** Locks the bytes [from, to); to > from. */
    void lock(long from, long to, boolean exclusive) {
        int first = (int) ((from >>> UNIT_SHIFT) & MASK);
        int count = count(from, to);
        // The stripes form the circular run first..first+count-1: take its wrapped part
        // (from 0) before the part up to STRIPES-1 so indexes only ascend.
        int wrapped = first + count - STRIPES;
        for (int i = 0; i < wrapped; i++) {
            lockOf(i, exclusive).lock();
        }
        int end = Math.min(first + count, STRIPES);
        for (int i = first; i < end; i++) {
            lockOf(i, exclusive).lock();
        }
    }

    /** Unlocks what {@link #lock} took for the same arguments. */
    void unlock(long from, long to, boolean exclusive) {
        int first = (int) ((from >>> UNIT_SHIFT) & MASK);
        int count = count(from, to);
        int end = Math.min(first + count, STRIPES);
        for (int i = end - 1; i >= first; i--) {
            lockOf(i, exclusive).unlock();
        }
        for (int i = first + count - STRIPES - 1; i >= 0; i--) {
            lockOf(i, exclusive).unlock();
        }
    }

    private static int count(long from, long to) {
        long units = ((to - 1) >>> UNIT_SHIFT) - (from >>> UNIT_SHIFT) + 1;
        return (int) Math.min(units, STRIPES);
    }

    private Lock lockOf(int stripe, boolean exclusive) {
        return exclusive ? stripes[stripe].writeLock() : stripes[stripe].readLock();
    }
}
