package org.jblksnap.nbd.client;

/** One block status descriptor: a range and its flags in one metadata context. */
public record Extent(long offset, long length, int flags) {
    public long end() {
        return offset + length;
    }

    public boolean has(int flag) {
        return (flags & flag) == flag;
    }
}
