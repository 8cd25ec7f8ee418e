package org.jblksnap.cli;

import java.util.logging.LogManager;

/**
 * The JDK's LogManager closes every handler from its own shutdown hook, which races the
 * daemon's: the last lines of a clean stop ("stopped") would be lost. This one ignores that
 * reset; the process exit flushes stderr anyway.
 */
public final class QuietShutdownLogManager extends LogManager {
    @Override
    public void reset() {
        // kept: handlers stay open until the process ends
    }
}
