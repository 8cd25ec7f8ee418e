package org.jblksnap.bench;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.jblksnap.device.Native;

/**
 * Puts a file's page cache in a known state before a benchmark: written back and dropped.
 *
 * <p>Why: on the kernel measured (6.18, ext4 with large folios) random 4 KiB buffered writes
 * into pages that reads brought in (as large folios) run several times slower than into pages
 * the writes themselves create, so two files with different histories are not comparable.
 */
final class PageCache {
    private static final int POSIX_FADV_DONTNEED = 4;
    private static final MethodHandle FADVISE = fadvise();

    private PageCache() {
    }

    @SuppressWarnings("restricted") // the forks run with --enable-native-access
    private static MethodHandle fadvise() {
        Linker linker = Linker.nativeLinker();
        return linker.downcallHandle(linker.defaultLookup().find("posix_fadvise").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    }

    /** Writes the file's dirty pages back and drops all its cached pages. */
    static void settle(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.force(true);
            int fd = Native.descriptorOf(file); // any descriptor of the file: the cache is the inode's
            int rc;
            try {
                rc = (int) FADVISE.invokeExact(fd, 0L, 0L, POSIX_FADV_DONTNEED);
            } catch (Throwable t) {
                throw new IOException("posix_fadvise failed", t);
            }
            if (rc != 0) {
                throw new IOException("posix_fadvise(DONTNEED) on " + file + " failed with errno " + rc);
            }
        }
    }
}
