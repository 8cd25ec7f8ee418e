package org.jblksnap.backup;

import java.io.PrintStream;

/** A bar on a terminal, redrawn in place a few times a second. */
final class TerminalProgress extends RateProgress {
    private static final int WIDTH = 24;
    private final PrintStream out;
    private boolean drawn;

    TerminalProgress(PrintStream out) {
        super(200);
        this.out = out;
    }

    @Override
    synchronized void show(String state, boolean last) {
        int filled = percent(done()) * WIDTH / 100;
        String bar = "[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] ";
        out.print("\r\033[K" + bar + state + (last ? "\n" : ""));
        out.flush();
        drawn = !last;
    }

    @Override
    public synchronized void note(String line) {
        out.print((drawn ? "\r\033[K" : "") + line + "\n");
        drawn = false;
        out.flush();
    }
}
