package org.jblksnap.nbd.client;

import org.jblksnap.nbd.protocol.Nbd;

/**
 * The request size constraints of an export (NBD_INFO_BLOCK_SIZE). When the server does not
 * send them, the protocol's defaults apply: minimum 1, preferred 4096 and a maximum payload
 * of 32 MiB.
 */
public record BlockSizes(int minimum, int preferred, int maximum) {
    public static final BlockSizes DEFAULT = new BlockSizes(1, 4096, Nbd.MAX_PAYLOAD);

    public BlockSizes {
        if (minimum < 1 || Integer.bitCount(minimum) != 1 || preferred < minimum || maximum < minimum) {
            throw new IllegalArgumentException("inconsistent block sizes: minimum " + minimum + ", preferred "
                    + preferred + ", maximum " + maximum);
        }
    }

    /** The largest read this client sends at once: the maximum, bounded to 32 MiB. */
    public int maximumRequest() {
        int m = Math.min(maximum, Nbd.MAX_PAYLOAD);
        return m - m % minimum;
    }
}
