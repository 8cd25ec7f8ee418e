package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A directory's range reads keep the interface's promises, into a new array and into the caller's. */
class DirectoryStoreTest {
    @TempDir
    Path dir;

    @Test
    void rangeReadsAreShortOnlyAtTheEndAndAMissingObjectIsNoSuchFile() throws IOException {
        try (ObjectStore s = RepositoryLocation.open(dir.resolve("repo").toString())) {
            s.prepare();
            s.put("packs/ab/x.pack", ByteBuffer.wrap("0123456789".getBytes(StandardCharsets.UTF_8)));
            assertArrayEquals("345".getBytes(), s.getRange("packs/ab/x.pack", 3, 3));
            assertArrayEquals("89".getBytes(), s.getRange("packs/ab/x.pack", 8, 5), "short at the end");
            assertArrayEquals(new byte[0], s.getRange("packs/ab/x.pack", 20, 5), "past the end");

            byte[] dst = "..........".getBytes();
            assertEquals(4, s.getRange("packs/ab/x.pack", 2, dst, 3, 4));
            assertArrayEquals("...2345...".getBytes(), dst, "into the caller's array at its offset, nothing else touched");
            assertEquals(2, s.getRange("packs/ab/x.pack", 8, dst, 0, 5), "short at the end");
            assertArrayEquals("89.2345...".getBytes(), dst);
            assertEquals(0, s.getRange("packs/ab/x.pack", 20, dst, 0, 5), "past the end");
            assertThrows(NoSuchFileException.class, () -> s.getRange("packs/ab/none.pack", 0, dst, 0, 1));
        }
    }
}
