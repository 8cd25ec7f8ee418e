package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every directory on a finished pack's path is synced before a point may name the pack. */
class UnsyncedDirectoriesTest {
    @TempDir
    Path dir;

    @Test
    void aPackFinishedInADirectoryAnotherWriterMadeSyncsPacksToo() throws Exception {
        Path packs = Files.createDirectory(dir.resolve("packs"));
        Path xx = Files.createDirectory(packs.resolve("7f")); // made by another writer, packs/ maybe not synced
        UnsyncedDirectories u = new UnsyncedDirectories();
        u.finished(xx.resolve("a.pack"), false);
        assertEquals(Set.of(xx, packs), u.pending(), "packs/ holds the name of 7f, which may not be durable");
        u.syncAll();
        assertEquals(Set.of(), u.pending());
        u.finished(xx.resolve("b.pack"), false);
        assertEquals(Set.of(xx), u.pending(), "once synced by this handle, 7f's name in packs/ is durable");
        u.finished(packs.resolve("80").resolve("c.pack"), true);
        assertEquals(Set.of(xx, packs.resolve("80"), packs), u.pending());
    }
}
