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

    /** Notes only, no progress (for tests and scripts). */
    static Progress quiet(PrintStream out) {
        return new LineProgress(out, Long.MAX_VALUE);
    }
}
