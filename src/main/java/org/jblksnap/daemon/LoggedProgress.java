package org.jblksnap.daemon;

import java.util.logging.Logger;

import org.jblksnap.backup.Progress;

/** A job run's progress in the daemon's log: its notes and phases, each line after the job's name. */
final class LoggedProgress implements Progress {
    private static final Logger LOG = Logger.getLogger(Jobs.class.getName());

    private final String job;

    LoggedProgress(String job) {
        this.job = job;
    }

    @Override
    public void start(String what, long totalBytes) {
        LOG.info(() -> "job " + job + ": " + what + (totalBytes > 0 ? " (" + totalBytes + " bytes)" : ""));
    }

    @Override
    public void advance(long bytes) {
        // the run's figures are in its result; the log gets its phases and notes
    }

    @Override
    public void note(String line) {
        LOG.info(() -> "job " + job + ": " + line);
    }

    @Override
    public void finish() {
        // the result line says how the run ended
    }
}
