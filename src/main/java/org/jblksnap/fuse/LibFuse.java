package org.jblksnap.fuse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where libfuse3 is. jfuse loads "fuse3" from java.library.path unless given a path, and the
 * JDK's default path misses Debian's multiarch directories, so the usual places are tried.
 */
final class LibFuse {
    /** Names a libfuse3 to use instead of the search. */
    static final String ENV = "JBLKSNAP_LIBFUSE";

    private static final List<String> CANDIDATES = List.of(
            "/usr/lib/x86_64-linux-gnu/libfuse3.so.3", "/lib/x86_64-linux-gnu/libfuse3.so.3",
            "/usr/lib/aarch64-linux-gnu/libfuse3.so.3", "/lib/aarch64-linux-gnu/libfuse3.so.3",
            "/usr/lib64/libfuse3.so.3", "/lib64/libfuse3.so.3", "/usr/lib/libfuse3.so.3");

    private LibFuse() {
    }

    /** The library's path, or null to let jfuse search java.library.path. */
    static String path() {
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            return env;
        }
        for (String c : CANDIDATES) {
            if (Files.isReadable(Path.of(c))) {
                return c;
            }
        }
        return null;
    }
}
