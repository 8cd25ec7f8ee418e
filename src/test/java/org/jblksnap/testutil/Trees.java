package org.jblksnap.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing a directory tree that a test made outside JUnit's @TempDir (a harness that lives for a whole class). */
public final class Trees {
    private Trees() {
    }

    /** Deletes dir and everything under it; a missing dir is no error. */
    public static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Deletes everything under dir but the names given. */
    public static void clear(Path dir, String... keep) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir) && java.util.Arrays.stream(keep).noneMatch(k -> p.equals(dir.resolve(k)))) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
