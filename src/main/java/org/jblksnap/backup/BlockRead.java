package org.jblksnap.backup;

/**
 * How one block of a point is made up in a run, offsets relative to the block: the ranges
 * read from the source, those known to be zeroes, and those unchanged since the parent
 * point, taken from its chunks. A full read has no parent ranges.
 *
 * @param offset where the block starts on the device
 * @param length its length (the last block may be short)
 */
record BlockRead(long offset, int length, Ranges read, Ranges zero, Ranges parent) {

    /** Whether the block is read whole from the source. */
    boolean whole() {
        return zero.isEmpty() && parent.isEmpty();
    }
}
