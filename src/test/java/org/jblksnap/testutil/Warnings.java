package org.jblksnap.testutil;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Collects the WARNING and SEVERE records logged under a package while it is open: a server
 * that catches what it did not expect logs it and goes on, so a fuzz harness that wants to
 * see such a failure reads it here.
 */
public final class Warnings implements AutoCloseable {
    private final Logger logger;
    private final List<LogRecord> records = new ArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                synchronized (records) {
                    records.add(r);
                }
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    /** Starts collecting what is logged under the package (a logger name prefix). */
    public Warnings(String loggerName) {
        this.logger = Logger.getLogger(loggerName);
        logger.addHandler(handler);
    }

    /** Throws an AssertionError carrying the first record (and its exception) collected since the last call. */
    public void assertNone(String what) {
        List<LogRecord> got;
        synchronized (records) {
            got = new ArrayList<>(records);
            records.clear();
        }
        if (!got.isEmpty()) {
            LogRecord r = got.getFirst();
            throw new AssertionError(what + " logged " + got.size() + " warning(s); first: " + r.getLoggerName() + ": "
                    + r.getMessage(), r.getThrown());
        }
    }

    @Override
    public void close() {
        logger.removeHandler(handler);
    }
}
