package org.jblksnap.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.cbt.CbtFileStore;
import org.jblksnap.error.ImageClosedException;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A backup cycle through the manager: CBT numbers, images, events, destroy. */
class SnapshotLifecycleTest {
    private static final int BLOCK = 64 << 10;
    private static final int BS = BLOCK / 512; // sectors per tracking block
    private static final long SIZE = 16L * BLOCK;
    /** The storage grows by 1 MiB, so a 64 MiB limit is far away (no no_space event). */
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16",
            "tracking_block_minimum_shift", "16", "diff_storage_minimum", "2048"));

    @TempDir
    Path dir;

    @Test
    void twoBackupsSeeTheRightChangesAndImages() throws Exception {
        Path store = Files.createDirectory(dir.resolve("store"));
        List<String> heard = new CopyOnWriteArrayList<>();
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            m.subscribe(new Recorder(heard));
            Tracker d = m.attach("d", TestDevices.patternFile(dir, "d.img", SIZE));
            CbtInfo fresh = m.cbtInfo("d");
            assertEquals(new CbtInfo(SIZE, BLOCK, 16, fresh.generationId(), 0), fresh);

            TestDevices.writePattern(d, 2L * BS, 1, 1, 1); // block 2 before the first backup
            UUID first = m.create(store, 64L << 20, List.of("d"));
            m.take(first);
            byte[] atFirst = TestDevices.readAll(d);
            assertEquals(1, m.cbtInfo("d").changesNumber());
            assertEquals(1, m.readCbtMap("d", 2, 1)[0]);
            assertEquals(0, m.info("d").errorCode());
            assertEquals("d@" + first, m.info("d").image());
            assertEquals(Optional.of(m.image("d")), m.imageByName("d@" + first));

            TestDevices.writePattern(d, 5L * BS + 3, BS, 1, 2); // blocks 5 and 6 after take
            assertArrayEquals(atFirst, TestDevices.readAll(m.image("d")), "the image stays at take");
            assertEquals(Optional.empty(), m.waitEvent(first, 10), "no event for a healthy snapshot");
            SnapshotImage firstImage = m.image("d");
            m.destroy(first);
            assertThrows(ImageClosedException.class, () -> firstImage.read(0, ByteBuffer.allocate(512)));
            assertThrows(ImageClosedException.class, () -> firstImage.write(0, ByteBuffer.allocate(512)));
            assertEquals(Optional.empty(), m.imageByName("d@" + first));
            assertEquals(List.of(), list(store), "the hidden storage file is gone with its snapshot");

            m.markDirty("d", List.<long[]>of(new long[] {9L * BS, 1}));
            UUID second = m.create(store, 64L << 20, List.of("d"));
            m.take(second);
            assertEquals(2, m.cbtInfo("d").changesNumber());
            byte[] map = m.readCbtMap("d", 0, 16);
            // Changed since backup 1: blocks 5, 6 (written) and 9 (marked dirty); block 2 only since 0.
            for (int b = 0; b < 16; b++) {
                int expected = b == 2 ? 1 : b == 5 || b == 6 || b == 9 ? 2 : 0;
                assertEquals(expected, map[b], "block " + b);
            }
            assertEquals(fresh.generationId(), m.cbtInfo("d").generationId());
            m.destroy(second);
        }
        assertEquals(List.of("attached d", "image d@", "destroying d@", "image d@", "destroying d@", "detaching d"),
                heard.stream().map(s -> s.replaceAll("@.*", "@")).toList());
    }

    @Test
    void detachSavesTheCbtAndReattachContinuesIt() throws Exception {
        Path file = TestDevices.patternFile(dir, "d.img", SIZE);
        Path states = dir.resolve("cbt");
        try (SnapshotManager m = new SnapshotManager(PARAMS, new CbtFileStore(states))) {
            Tracker d = m.attach("d", file);
            TestDevices.writePattern(d, 0, 1, 1, 1);
            UUID id = m.create(dir, 64L << 20, List.of("d"));
            m.take(id);
            m.destroy(id);
            CbtInfo before = m.cbtInfo("d");
            m.detach("d");
            assertEquals(1, savedMaps(states).size(), "saved at detach");
            m.attach("d", file);
            assertEquals(List.of(), savedMaps(states), "claimed at attach, so a crash leaves nothing");
            assertEquals(before, m.cbtInfo("d"));
            assertEquals(1, m.readCbtMap("d", 0, 1)[0]);

            // A lost state file (as after a crash) starts a new generation.
            m.detach("d");
            Files.delete(savedMaps(states).getFirst());
            m.attach("d", file);
            assertNotEquals(before.generationId(), m.cbtInfo("d").generationId());
            assertEquals(0, m.cbtInfo("d").changesNumber());

            // So does a device whose size changed while it was not tracked.
            CbtInfo second = m.cbtInfo("d");
            m.detach("d");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(SIZE / 2);
            }
            m.attach("d", file);
            assertNotEquals(second.generationId(), m.cbtInfo("d").generationId());
            assertEquals(SIZE / 2, m.cbtInfo("d").deviceCapacity());
        }
    }

    @Test
    void waitEventTimesOutWhenNothingHappens() throws Exception {
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            m.attach("d", TestDevices.patternFile(dir, "d.img", SIZE));
            UUID id = m.create(dir, 64L << 20, List.of("d"));
            m.take(id);
            long start = System.nanoTime();
            assertEquals(Optional.empty(), m.waitEvent(id, 50));
            assertTrue(System.nanoTime() - start >= 40_000_000L, "waited for the timeout");
        }
    }

    /** The saved CBT maps (named after the device's identity, not its name). */
    static List<Path> savedMaps(Path states) throws IOException {
        try (Stream<Path> s = Files.list(states)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".cbt")).toList();
        }
    }

    private static List<Path> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.toList();
        }
    }

    /** Records what the manager tells front ends. */
    private record Recorder(List<String> heard) implements SnapshotManager.Listener {
        @Override
        public void deviceAttached(Tracker tracker) {
            heard.add("attached " + tracker.name());
        }

        @Override
        public void deviceDetaching(Tracker tracker) {
            heard.add("detaching " + tracker.name());
        }

        @Override
        public void imageCreated(SnapshotImage image) {
            heard.add("image " + image.name());
        }

        @Override
        public void imageDestroying(SnapshotImage image) {
            heard.add("destroying " + image.name());
        }
    }
}
