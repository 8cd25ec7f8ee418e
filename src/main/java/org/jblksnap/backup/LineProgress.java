package org.jblksnap.backup;

import java.io.PrintStream;

/** Progress for logs and pipes: a plain line every few seconds and at the end. */
final class LineProgress extends RateProgress {
    private final PrintStream out;

    LineProgress(PrintStream out, long intervalMillis) {
        super(intervalMillis);
        this.out = out;
    }

    @Override
    void show(String state, boolean last) {
        out.println(state);
    }

    @Override
    public void note(String line) {
        out.println(line);
    }
}
