package org.jblksnap.testutil;

import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Blocking I/O on a connection with a time limit: past it the connection is closed, which
 * ends the blocked call, and the test fails saying who hung. For harnesses that talk to a
 * server that must answer or close (a fuzz input must never hang the run).
 */
public final class CloseOnTimeout {
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("close-on-timeout").daemon().unstarted(r));

    /** Blocking I/O. */
    @FunctionalInterface
    public interface Io<T> {
        T run() throws IOException, InterruptedException;
    }

    private CloseOnTimeout() {
    }

    /**
     * Runs io; when it is still running after millis, closes connection, and the failure that
     * follows becomes an AssertionError: "who neither answered nor closed within millis ms".
     */
    public static <T> T run(Closeable connection, long millis, String who, Io<T> io) throws IOException, InterruptedException {
        AtomicBoolean fired = new AtomicBoolean();
        ScheduledFuture<?> timer = TIMER.schedule(() -> {
            fired.set(true);
            try {
                connection.close();
            } catch (IOException e) {
                // closed already
            }
        }, millis, TimeUnit.MILLISECONDS);
        try {
            return io.run();
        } catch (IOException e) {
            if (fired.get()) {
                throw new AssertionError(who + " neither answered nor closed within " + millis + " ms", e);
            }
            throw e;
        } finally {
            timer.cancel(false);
        }
    }
}
