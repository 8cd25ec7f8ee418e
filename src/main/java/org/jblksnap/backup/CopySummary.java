package org.jblksnap.backup;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.jblksnap.params.Sizes;

/**
 * What copying one point did: the point in the source and the one made in the target, the
 * blocks whose manifest an earlier copy gave (nothing read), the chunks read from the source,
 * and what the target stored.
 */
public record CopySummary(long sourcePoint, long targetPoint, String device, long size, Long parent,
        long reusedBlocks, long chunksRead, long bytesRead, long newChunks, long storedBytes, double seconds) {

    /**
     * The result's fields, as `copy` prints them: device, point (the source's), copy (the
     * target's), parent (the target's, when copied), size, reused_blocks, read_chunks,
     * read_bytes, new_chunks, stored_bytes, seconds.
     */
    public Map<String, Object> fields() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("device", device);
        f.put("point", sourcePoint);
        f.put("copy", targetPoint);
        if (parent != null) {
            f.put("parent", parent);
        }
        f.put("size", size);
        f.put("reused_blocks", reusedBlocks);
        f.put("read_chunks", chunksRead);
        f.put("read_bytes", bytesRead);
        f.put("new_chunks", newChunks);
        f.put("stored_bytes", storedBytes);
        f.put("seconds", seconds);
        return f;
    }

    /** A few lines, like a backup's. */
    public String format() {
        double secs = Math.max(seconds, 1e-6);
        return String.format(Locale.ROOT, """
                copy of %s point %d: point %d%s
                  read     %d chunks, %s of %s (%d blocks known from earlier copies)
                  stored   %d new chunks, %s after dedup and compression
                  time     %.1f s (%s/s)""",
                device, sourcePoint, targetPoint, parent == null ? "" : " (parent " + parent + ")", chunksRead,
                Sizes.bytes(bytesRead), Sizes.bytes(size), reusedBlocks, newChunks, Sizes.bytes(storedBytes), seconds,
                Sizes.bytes((long) (bytesRead / secs)));
    }
}
