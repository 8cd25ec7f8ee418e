package org.jblksnap.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.jblksnap.error.ImageClosedException;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A front end that fails while following the engine leaves nothing half done. */
class ListenerFailureTest {
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16"));

    @TempDir
    Path dir;

    /** Throws from every call, as a front end with a bug or out of memory would. */
    private static final class Broken implements SnapshotManager.Listener {
        @Override
        public void deviceAttached(Tracker tracker) {
            throw new IllegalStateException("broken front end");
        }

        @Override
        public void imageDestroying(SnapshotImage image) {
            throw new OutOfMemoryError("unable to create native thread");
        }
    }

    @Test
    void destroyAndAttachCompleteWhateverAListenerThrows() throws Exception {
        Path store = Files.createDirectory(dir.resolve("store"));
        try (SnapshotManager m = new SnapshotManager(PARAMS)) {
            m.subscribe(new Broken());
            Tracker d = m.attach("d", TestDevices.patternFile(dir, "d.img", 1 << 20));
            assertEquals(List.of(d), m.trackers(), "attached, and told so, despite the listener");
            UUID id = m.create(store, 64L << 20, List.of("d"));
            m.take(id);
            SnapshotImage image = m.image("d");
            m.destroy(id);
            assertNull(d.cow(), "COW is off");
            assertThrows(ImageClosedException.class, () -> image.read(0, ByteBuffer.allocate(512)));
            try (var left = Files.list(store)) {
                assertEquals(0, left.count(), "the storage was closed and its file is gone");
            }
            assertEquals(List.of(), m.collect());
            // The device is free for a new snapshot.
            UUID next = m.create(store, 64L << 20, List.of("d"));
            m.take(next);
            m.destroy(next);
        }
    }
}
