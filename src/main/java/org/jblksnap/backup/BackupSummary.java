package org.jblksnap.backup;

import java.util.Locale;

import org.jblksnap.repo.PointStats;
import org.jblksnap.params.Sizes;

/** What a backup run did, for the user. */
public record BackupSummary(long pointId, String device, long size, Long parent, String mode, PointStats stats) {

    public boolean incremental() {
        return parent != null;
    }

    /** A few lines: the point, what was read, changed and stored, how long it took. */
    public String format() {
        double secs = Math.max(stats.seconds(), 1e-6);
        return String.format(Locale.ROOT, """
                backup of %s: point %d (%s)
                  read     %s of %s%s
                  changed  %d chunks since the previous point; %d zero chunks
                  stored   %d new chunks, %s after dedup and compression
                  time     %.1f s (%s/s)""",
                device, pointId, mode, Sizes.bytes(stats.bytesRead()), Sizes.bytes(size),
                stats.dirtyBytes() == null ? "" : " (the dirty bitmap reported " + Sizes.bytes(stats.dirtyBytes()) + ")",
                stats.changedChunks(),
                stats.zeroChunks(), stats.newChunks(), Sizes.bytes(stats.storedBytes()), stats.seconds(),
                Sizes.bytes((long) (stats.bytesRead() / secs)));
    }
}
