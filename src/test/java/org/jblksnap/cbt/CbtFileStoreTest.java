package org.jblksnap.cbt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CBT maps kept by the device, not by its name (reliability audit F3, M8): a map follows the
 * device under any name, every saved map of it is claimed at attach, and a file changed while
 * untracked (even with its mtime set back, or in the same clock tick as the save) is caught.
 */
class CbtFileStoreTest {
    private static final long SIZE = 4L << 20;
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16"));

    @TempDir
    Path dir;

    private List<Path> saved(Path states) throws IOException {
        try (Stream<Path> s = Files.list(states)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".cbt")).toList();
        }
    }

    /** F3 scenario A: the device attached under another name meanwhile and written there. */
    @Test
    void aMapFollowsTheDeviceWhateverNameItWasAttachedUnder() throws Exception {
        Path file = TestDevices.patternFile(dir, "lv1.img", SIZE);
        Path states = dir.resolve("cbt");
        int block = 64 << 10;
        try (SnapshotManager m = new SnapshotManager(PARAMS, new CbtFileStore(states))) {
            m.attach("vm1", file);
            UUID id = m.create(dir, 64L << 20, List.of("vm1"));
            m.take(id);
            m.destroy(id);
            CbtInfo backedUp = m.cbtInfo("vm1"); // a backup took changes number 1
            m.detach("vm1");

            Tracker other = m.attach("vm1disk", file);
            assertEquals(backedUp, m.cbtInfo("vm1disk"), "the map of the device, under its other name");
            assertEquals(List.of(), saved(states), "claimed");
            TestDevices.writePattern(other, 5L * block / 512, 1, 7, 1);
            m.detach("vm1disk");
            assertEquals(1, saved(states).size(), "one map per device, whatever the names");

            m.attach("vm1", file);
            UUID next = m.create(dir, 64L << 20, List.of("vm1"));
            m.take(next);
            assertEquals(backedUp.generationId(), m.cbtInfo("vm1").generationId());
            byte[] map = m.readCbtMap("vm1", 0, 8);
            assertTrue(map[5] > backedUp.changesNumber(), "the write under the other name is reported: " + map[5]);
            assertTrue(map[4] <= backedUp.changesNumber());
            m.destroy(next);
        }
    }

    /** F3, files: a change with the mtime set back still moves the ctime. */
    @Test
    void aFileChangedWhileUntrackedIsCaughtEvenWithItsMtimeSetBack() throws Exception {
        Path file = TestDevices.patternFile(dir, "d.img", SIZE);
        Path states = dir.resolve("cbt");
        try (SnapshotManager m = new SnapshotManager(PARAMS, new CbtFileStore(states))) {
            UUID generation = m.attach("d", file).cbt().generation();
            m.detach("d");
            FileTime mtime = Files.getLastModifiedTime(file);
            Thread.sleep(20);
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                f.seek(8192);
                f.write(new byte[] {9, 9, 9});
            }
            Files.setLastModifiedTime(file, mtime);
            assertNotEquals(generation, m.attach("d", file).cbt().generation());
            assertEquals(List.of(), saved(states));
        }
    }

    /** M8, git's racy rule: a change stamped in the last tick before the save could hide another. */
    @Test
    void aSaveInTheSameClockTickAsTheLastChangeIsNotTrusted() throws Exception {
        Path file = TestDevices.patternFile(dir, "d.img", SIZE);
        CbtFileStore store = new CbtFileStore(dir.resolve("cbt"));
        int shift = PARAMS.trackingBlockShift(SIZE);
        CbtState state = new CbtMap(SIZE, PARAMS).state();
        Instant lastChange = Files.getLastModifiedTime(file).toInstant();
        store.save("d", file, state, lastChange.plusMillis(5));
        assertNull(store.claim("d", file, SIZE, shift), "racy: treated as modified");
        assertEquals(List.of(), saved(dir.resolve("cbt")), "and claimed all the same");

        Instant settled = store.settle(file);
        long since = TimeUnit.NANOSECONDS.toMillis(java.time.Duration.between(lastChange, settled).toNanos());
        assertTrue(since >= 100, "settle waits out the granularity after the last change: " + since + " ms");
        store.save("d", file, state, settled);
        assertNotNull(store.claim("d", file, SIZE, shift), "a settled save is trusted");
    }

    /** Another file at the same path (a new inode) is another device; its predecessor's map goes. */
    @Test
    void aMapOfAnEarlierFileAtThePathIsDroppedAndAnOldFormatIsDeleted() throws Exception {
        Path states = Files.createDirectories(dir.resolve("cbt"));
        Files.write(states.resolve("d.cbt"), "JBSCBT01 an older format".getBytes());
        Path file = TestDevices.patternFile(dir, "d.img", SIZE);
        CbtFileStore store = new CbtFileStore(states);
        CbtState state = new CbtMap(SIZE, PARAMS).state();
        store.save("d", file, state, store.settle(file));
        Files.delete(file);
        TestDevices.patternFile(dir, "d.img", SIZE);
        assertNull(store.claim("d", file, SIZE, PARAMS.trackingBlockShift(SIZE)));
        assertEquals(List.of(), saved(states), "both the stale map and the unreadable file are gone");
    }
}
