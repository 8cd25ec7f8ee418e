package org.jblksnap.backup;

import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.params.Sizes;

/**
 * Counting, rate and time left for a {@link Progress}; subclasses decide how a state is
 * shown and how often (at most every {@code intervalMillis}).
 */
abstract class RateProgress implements Progress {
    private final long intervalNanos;
    private final AtomicLong done = new AtomicLong();
    private volatile String what = "";
    private volatile long total;
    private volatile long startNanos = System.nanoTime();
    private volatile long lastShown;

    RateProgress(long intervalMillis) {
        this.intervalNanos = intervalMillis == Long.MAX_VALUE ? Long.MAX_VALUE : intervalMillis * 1_000_000;
    }

    @Override
    public synchronized void start(String what, long totalBytes) {
        this.what = what;
        this.total = totalBytes;
        done.set(0);
        startNanos = System.nanoTime();
        lastShown = startNanos;
    }

    @Override
    public void advance(long bytes) {
        done.addAndGet(bytes);
        long now = System.nanoTime();
        if (intervalNanos != Long.MAX_VALUE && now - lastShown >= intervalNanos) {
            synchronized (this) {
                if (now - lastShown >= intervalNanos) {
                    lastShown = now;
                    show(line(now), false);
                }
            }
        }
    }

    @Override
    public synchronized void finish() {
        if (intervalNanos != Long.MAX_VALUE) {
            show(line(System.nanoTime()), true);
        }
    }

    /** Draws the state; last is true for the final one of a phase. */
    abstract void show(String state, boolean last);

    /** "WHAT 1.2 GiB of 2.9 GiB (42%), 150 MiB/s, 0:11 left". */
    String line(long now) {
        long d = done.get();
        double secs = Math.max(1e-9, (now - startNanos) / 1e9);
        double rate = d / secs;
        StringBuilder sb = new StringBuilder(what).append(' ').append(Sizes.bytes(d));
        if (total > 0) {
            sb.append(" of ").append(Sizes.bytes(total)).append(" (").append(percent(d)).append("%)");
        }
        sb.append(", ").append(Sizes.bytes((long) rate)).append("/s");
        if (total > 0 && d > 0 && d < total) {
            sb.append(", ").append(Sizes.duration((long) ((total - d) / rate))).append(" left");
        } else {
            sb.append(", ").append(Sizes.duration((long) secs));
        }
        return sb.toString();
    }

    int percent(long d) {
        return total <= 0 ? 0 : (int) Math.min(100, d * 100 / total);
    }

    long done() {
        return done.get();
    }
}
