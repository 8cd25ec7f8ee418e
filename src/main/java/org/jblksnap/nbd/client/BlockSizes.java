package org.jblksnap.nbd.client;

/**
 * The request size constraints of an export (NBD_INFO_BLOCK_SIZE). When the server does not
 * send them, the protocol's defaults apply: minimum 1, preferred 4096 and a maximum payload
 * of 32 MiB.
 */
public record BlockSizes(int minimum, int preferred, int maximum) {
    public static final int DEFAULT_MAXIMUM = 32 << 20;
    public static final BlockSizes DEFAULT = new BlockSizes(1, 4096, DEFAULT_MAXIMUM);

    public BlockSizes {
        if (minimum < 1 || Integer.bitCount(minimum) != 1 || preferred < minimum || maximum < minimum) {
            throw new IllegalArgumentException("inconsistent block sizes: minimum " + minimum + ", preferred "
                    + preferred + ", maximum " + maximum);
        }
    }

    /** The largest read this client sends at once: the maximum, bounded to 32 MiB. */
    public int maximumRequest() {
        int m = Math.min(maximum, DEFAULT_MAXIMUM);
        return m - m % minimum;
    }
}
