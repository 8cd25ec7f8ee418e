package org.jblksnap.backup;

import java.io.Console;
import java.io.PrintStream;

/**
 * Where a long operation reports how far it is. {@link #advance} may be called from any
 * thread. On a terminal a bar redrawn in place; otherwise a plain line now and then.
 */
public interface Progress {
    /** A new phase: what it is and how many bytes it will handle (0 when unknown). */
    void start(String what, long totalBytes);

    void advance(long bytes);

    /** A line worth reading (a decision, a warning), printed between progress updates. */
    void note(String line);

    /** The phase is over: the final figures, then a new line. */
    void finish();

    /** A bar on stderr when it is a terminal, lines every few seconds otherwise. */
    static Progress forConsole(PrintStream out) {
        Console c = System.console();
        return c != null && c.isTerminal() ? new TerminalProgress(out) : new LineProgress(out, 5_000);
    }

    /** Both of them, a then b (a daemon's log and the client that asked for the run). */
    static Progress both(Progress a, Progress b) {
        return new Progress() {
            @Override
            public void start(String what, long totalBytes) {
                a.start(what, totalBytes);
                b.start(what, totalBytes);
            }

            @Override
            public void advance(long bytes) {
                a.advance(bytes);
                b.advance(bytes);
            }

            @Override
            public void note(String line) {
                a.note(line);
                b.note(line);
            }

            @Override
            public void finish() {
                a.finish();
                b.finish();
            }
        };
    }

    /** Notes only, no progress (for tests and scripts). */
    static Progress quiet(PrintStream out) {
        return new LineProgress(out, Long.MAX_VALUE);
    }
}
