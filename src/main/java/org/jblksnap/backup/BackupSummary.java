package org.jblksnap.backup;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.jblksnap.repo.PointStats;
import org.jblksnap.params.Sizes;

/** What a backup run did, for the user. */
public record BackupSummary(long pointId, String device, long size, Long parent, String mode, PointStats stats) {

    public boolean incremental() {
        return parent != null;
    }

    /**
     * The result's fields, as `backup` prints them (key=value or JSON) and job_run returns them:
     * device, point, mode, size, read_bytes, dirty_bytes (an incremental run), changed_chunks,
     * new_chunks, stored_bytes, seconds.
     */
    public Map<String, Object> fields() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("device", device);
        f.put("point", pointId);
        f.put("mode", mode);
        f.put("size", size);
        f.put("read_bytes", stats.bytesRead());
        if (stats.dirtyBytes() != null) {
            f.put("dirty_bytes", stats.dirtyBytes());
        }
        f.put("changed_chunks", stats.changedChunks());
        f.put("new_chunks", stats.newChunks());
        f.put("stored_bytes", stats.storedBytes());
        f.put("seconds", stats.seconds());
        return f;
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
