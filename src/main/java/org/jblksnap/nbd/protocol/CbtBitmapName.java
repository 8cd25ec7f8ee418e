package org.jblksnap.nbd.protocol;

/**
 * The name of the dirty bitmap a jblksnap server offers on a snapshot image, {@code
 * qemu:dirty-bitmap:cbt-<generation>-<N>}: the tracking blocks changed since backup N of
 * that CBT generation. The server builds and parses it, a backup client builds it from the
 * CBT state of its last point; this class is that contract, written once.
 *
 * <p>Only the canonical spelling is a name: N in decimal without leading zeros, and the
 * generation as the server prints it (a UUID on a jblksnap server).
 */
public record CbtBitmapName(String generation, int since) {
    /** What every such name starts with. */
    public static final String PREFIX = Nbd.CONTEXT_DIRTY_BITMAP_PREFIX + "cbt-";

    /** The meta context name. */
    public String context() {
        return PREFIX + generation + "-" + since;
    }

    /** The generation and N of a context name; null when it is not one in canonical form. */
    public static CbtBitmapName parse(String context) {
        if (!context.startsWith(PREFIX)) {
            return null;
        }
        int dash = context.lastIndexOf('-');
        String number = context.substring(dash + 1);
        // At most 3 digits: a changes number stays below 256.
        if (dash <= PREFIX.length() || number.isEmpty() || number.length() > 3
                || !number.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return null;
        }
        CbtBitmapName n = new CbtBitmapName(context.substring(PREFIX.length(), dash), Integer.parseInt(number));
        return n.context().equals(context) ? n : null;
    }

    @Override
    public String toString() {
        return context();
    }
}
