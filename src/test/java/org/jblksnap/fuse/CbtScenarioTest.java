package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Upstream's change tracking test (3000-cbt): while a snapshot is held the readable CBT map
 * does not move, whatever is written to the device; the next snapshot reports what was
 * written; markdirtyblock --file (the file's extents) shows in the map at once.
 */
class CbtScenarioTest {
    private static final long MIB = 1 << 20;
    // "   0:        0..    4095:      20482..     24577:   4096:   last,unwritten,eof" with -b512
    private static final Pattern EXTENT = Pattern.compile("^\\s*\\d+:\\s+\\d+\\.\\.\\s*\\d+:\\s+(\\d+)\\.\\.\\s*(\\d+):\\s+(\\d+):");

    @BeforeEach
    void kernel() {
        Kernel.assumeLoop();
    }

    @Test
    void mapStableWhileHeldAndMarkDirtyReflected() throws Exception {
        try (Rig rig = new Rig(65536)) {
            Tracker t = rig.attach("d1", 256);
            String l1 = rig.loop("d1");
            rig.mkfs("ext4", l1);
            Path m1 = rig.mount(l1, "d1");
            FileSet.small(m1, "before", 5, 1);
            int blocks = t.cbt().blockCount();
            UUID generation = rig.engine.cbtInfo("d1").generationId();

            for (int round = 1; round <= 3; round++) {
                UUID id = rig.engine.create(rig.dir, 128 * MIB, List.of("d1"));
                rig.engine.take(id);
                CbtInfo info = rig.engine.cbtInfo("d1");
                assertEquals(round, info.changesNumber(), "take " + round);
                assertEquals(generation, info.generationId());
                byte[] atTake = rig.engine.readCbtMap("d1", 0, blocks);
                if (round > 1) {
                    int changed = count(atTake, round);
                    long written = 10 * MIB / t.cbt().blockSize();
                    assertTrue(changed >= written, "round " + (round - 1) + " wrote 10 MiB, the map shows "
                            + changed + " blocks of " + t.cbt().blockSize() + " bytes");
                }
                FileSet.mebibytes(m1, "round" + round, 10, 10 + round);
                FileSet.check(m1);
                assertArrayEquals(atTake, rig.engine.readCbtMap("d1", 0, blocks),
                        "the readable map does not move while the snapshot is held");
                rig.engine.destroy(id);
            }

            UUID id = rig.engine.create(rig.dir, 128 * MIB, List.of("d1"));
            rig.engine.take(id);
            int previous = rig.engine.cbtInfo("d1").changesNumber();
            byte[] atTake = rig.engine.readCbtMap("d1", 0, blocks);
            Path dirty = m1.resolve("dirty_file");
            ChildProcess.of("fallocate", "--length", "2MiB", dirty.toString()).check();
            ChildProcess.of("sync", "-f", dirty.toString()).check();
            List<long[]> ranges = extents(dirty);
            assertFalse(ranges.isEmpty());
            // markdirtyblock --file (FIEMAP through the ext4 on d1's loop device), where filefrag
            // says the file is.
            SnapshotManager.MarkedFile marked1 = rig.engine.markDirtyFile(dirty, null);
            assertEquals("d1", marked1.device());
            assertEquals(ranges.stream().map(r -> r[0] + ":" + r[1]).toList(),
                    marked1.sectorRanges().stream().map(r -> r[0] + ":" + r[1]).toList());
            byte[] marked = rig.engine.readCbtMap("d1", 0, blocks);
            boolean[] inRange = new boolean[blocks];
            for (long[] r : ranges) {
                long first = (r[0] << 9) >> t.cbt().blockShift();
                long last = (((r[0] + r[1]) << 9) - 1) >> t.cbt().blockShift();
                for (long b = first; b <= last; b++) {
                    inRange[(int) b] = true;
                }
            }
            int dirtyBlocks = 0;
            for (int b = 0; b < blocks; b++) {
                if (inRange[b]) {
                    assertEquals(previous, marked[b], "block " + b + " of dirty_file is marked for the current backup");
                    dirtyBlocks++;
                } else {
                    assertEquals(atTake[b], marked[b], "block " + b + " outside dirty_file is untouched");
                }
            }
            assertTrue(dirtyBlocks >= 2 * MIB / t.cbt().blockSize());
            rig.engine.destroy(id);
        }
    }

    private static int count(byte[] map, int value) {
        int n = 0;
        for (byte b : map) {
            if (b == value) {
                n++;
            }
        }
        return n;
    }

    /** The file's extents on its device as {first sector, sector count} (filefrag in 512-byte units). */
    private static List<long[]> extents(Path file) throws IOException {
        List<long[]> ranges = new ArrayList<>();
        for (String line : ChildProcess.of("filefrag", "-v", "-b512", file.toString()).check().out().split("\n")) {
            Matcher m = EXTENT.matcher(line);
            if (m.find()) {
                ranges.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(3))});
            }
        }
        return ranges;
    }
}
