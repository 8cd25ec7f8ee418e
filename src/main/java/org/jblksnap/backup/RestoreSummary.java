package org.jblksnap.backup;

import java.nio.file.Path;
import java.util.Locale;

import org.jblksnap.params.Sizes;

/** What a restore did. */
public record RestoreSummary(long pointId, Path target, long size, long bytesWritten, long zeroChunks, boolean sparse,
        double seconds) {

    public String format() {
        return String.format(Locale.ROOT, "restored point %d to %s: %s, %s written, %d zero chunks %s, %.1f s",
                pointId, target, Sizes.bytes(size), Sizes.bytes(bytesWritten), zeroChunks,
                sparse ? "left as holes" : "written as zeroes", seconds);
    }
}
