package org.jblksnap;

/** The program's version, as `jblksnap version` prints it. */
public final class Version {
    public static final String VERSION = "0.1.0";

    private Version() {
    }
}
