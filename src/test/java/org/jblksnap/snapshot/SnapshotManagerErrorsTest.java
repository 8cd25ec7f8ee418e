package org.jblksnap.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.DeviceAlreadyAttachedException;
import org.jblksnap.error.DeviceBusyException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.NoDevicesException;
import org.jblksnap.error.DeviceNotAttachedException;
import org.jblksnap.error.NoSuchDeviceException;
import org.jblksnap.error.NoSuchSnapshotException;
import org.jblksnap.error.PathException;
import org.jblksnap.error.SnapshotAlreadyTakenException;
import org.jblksnap.error.SnapshotNotTakenException;
import org.jblksnap.error.StorageException;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Every bad request gets its own exception and changes nothing. */
class SnapshotManagerErrorsTest {
    private static final long SIZE = 1L << 20;
    private static final long LIMIT = 16L << 20;
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16"));

    @TempDir
    Path dir;
    private Path store;
    private Path fileA;
    private SnapshotManager m;
    private Tracker a;
    private Tracker b;

    /** What a refused request must leave as it was. */
    private record State(List<UUID> snapshots, List<String> devices, CbtInfo cbtA, CbtInfo cbtB, List<Path> storeFiles,
            byte[] dataA) {
    }

    @BeforeEach
    void setUp() throws IOException {
        store = Files.createDirectory(dir.resolve("store"));
        fileA = TestDevices.patternFile(dir, "a.img", SIZE);
        m = new SnapshotManager(PARAMS);
        a = m.attach("a", fileA);
        b = m.attach("b", TestDevices.patternFile(dir, "b.img", SIZE));
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    @Test
    void unknownDevicesAndSnapshotsAreReportedAsSuch() throws Exception {
        UUID id = m.create(store, LIMIT, List.of());
        UUID unknown = UUID.randomUUID();
        // ENOENT, what blksnap answers for a device without its filter; ESRCH for an unknown snapshot.
        assertEquals(Errno.ENOENT, refused(DeviceNotAttachedException.class, () -> m.tracker("x")).errno());
        refused(DeviceNotAttachedException.class, () -> m.tracker(dir.resolve("x.img").toString()));
        refused(DeviceNotAttachedException.class, () -> m.cbtInfo("x"));
        refused(DeviceNotAttachedException.class, () -> m.readCbtMap("x", 0, 1));
        refused(DeviceNotAttachedException.class, () -> m.markDirty("x", List.<long[]>of(new long[] {0, 1})));
        refused(DeviceNotAttachedException.class, () -> m.detach("x"));
        refused(DeviceNotAttachedException.class, () -> m.info("x"));
        refused(DeviceNotAttachedException.class, () -> m.image("x"));
        refused(DeviceNotAttachedException.class, () -> m.create(store, LIMIT, List.of("a", "x")));
        refused(DeviceNotAttachedException.class, () -> m.add(id, "x"));
        assertEquals(Errno.ESRCH, refused(NoSuchSnapshotException.class, () -> m.take(unknown)).errno());
        refused(NoSuchSnapshotException.class, () -> m.destroy(unknown));
        assertEquals(Errno.ESRCH, refused(NoSuchSnapshotException.class, () -> m.add(unknown, "a")).errno());
        refused(NoSuchSnapshotException.class, () -> m.waitEvent(unknown, 0));
        refused(NoSuchSnapshotException.class, () -> m.snapshot(unknown));
        refused(NoSuchSnapshotException.class, () -> m.stretch(unknown, LIMIT));
        // "a" was not left half-added by the refused create.
        m.add(id, "a");
        m.take(id);
        stillUsable();
    }

    @Test
    void aSnapshotWithoutDevicesCannotBeTaken() throws Exception {
        UUID id = m.create(store, LIMIT, List.of());
        NoDevicesException e = refused(NoDevicesException.class, () -> m.take(id));
        assertEquals(Errno.ENODEV, e.errno());
        assertEquals(Snapshot.State.CREATED, m.snapshot(id).state());
        m.add(id, "a");
        m.take(id);
        assertEquals(Snapshot.State.TAKEN, m.snapshot(id).state());
    }

    @Test
    void aSnapshotIsTakenOnce() throws Exception {
        UUID id = m.create(store, LIMIT, List.of("a"));
        m.take(id);
        byte[] image = TestDevices.readAll(m.image("a"));
        refused(SnapshotAlreadyTakenException.class, () -> m.take(id));
        assertEquals(1, m.cbtInfo("a").changesNumber(), "the CBT switched once");
        assertArrayEquals(image, TestDevices.readAll(m.image("a")));
        stillUsable();
    }

    @Test
    void devicesCannotBeAddedAfterTake() throws Exception {
        UUID id = m.create(store, LIMIT, List.of("a"));
        m.take(id);
        refused(SnapshotAlreadyTakenException.class, () -> m.add(id, "b"));
        refused(SnapshotNotTakenException.class, () -> m.image("b"));
        // blksnap's snapshot_info of a device in no snapshot: error code 0, no image.
        SnapshotInfo none = m.info("b");
        assertEquals(0, none.errorCode());
        assertEquals("", none.image());
        assertEquals(null, none.snapshot());
        UUID other = m.create(store, LIMIT, List.of("b"));
        m.take(other);
        assertEquals(0, m.info("b").errorCode());
    }

    @Test
    void aDeviceIsInOneSnapshotAtMost() throws Exception {
        UUID first = m.create(store, LIMIT, List.of("a"));
        refused(DeviceBusyException.class, () -> m.create(store, LIMIT, List.of("b", "a")));
        // Already in this snapshot: EALREADY, as blksnap answers; in another: EBUSY.
        assertEquals(Errno.EALREADY, refused(DeviceAlreadyAttachedException.class, () -> m.add(first, "a")).errno());
        refused(InvalidArgumentException.class, () -> m.create(store, LIMIT, List.of("b", "b")));
        UUID second = m.create(store, LIMIT, List.of("b"));
        refused(DeviceBusyException.class, () -> m.add(second, "a"));
        assertEquals(List.of("a"), m.snapshot(first).deviceNames());
        assertEquals(List.of("b"), m.snapshot(second).deviceNames());
        // Both snapshots live side by side.
        m.take(first);
        m.take(second);
        stillUsable();
    }

    @Test
    void aDeviceInASnapshotCannotBeDetached() throws Exception {
        UUID id = m.create(store, LIMIT, List.of("a"));
        m.take(id);
        refused(DeviceBusyException.class, () -> m.detach("a"));
        stillUsable();
        m.destroy(id);
        m.detach("a");
        assertThrows(NoSuchDeviceException.class, () -> TestDevices.writePattern(a, 0, 1, 1, 1));
        assertEquals(List.of("b"), m.trackers().stream().map(Tracker::name).toList());
    }

    @Test
    void devicesNamedByTheirPathAreFoundAndAttachedOnDemand() throws Exception {
        // blksnap's attach: a device attached already is no error, whether named or by path.
        assertTrue(m.attachDevice("a", fileA).already());
        assertSame(a, m.attachDevice("a", null).tracker());
        assertSame(a, m.attachDevice(fileA.toString(), null).tracker());
        assertSame(a, m.tracker(fileA.toString()));
        refused(DeviceAlreadyAttachedException.class, () -> m.attachDevice("a", dir.resolve("b.img")));
        refused(InvalidArgumentException.class, () -> m.attachDevice("nameless", null));

        // snapshot_create and snapshot_add attach a path that is not attached, named after its file.
        Path c = TestDevices.patternFile(dir, "c.img", SIZE);
        Path c2 = TestDevices.patternFile(Files.createDirectory(dir.resolve("other")), "c.img", SIZE);
        UUID id = m.create(store, LIMIT, List.of(c.toString(), "b"));
        m.add(id, c2.toString());
        assertEquals(List.of("c.img", "b", "c.img-2"), m.snapshot(id).deviceNames());
        assertEquals(c2, m.tracker("c.img-2").device().path());

        // A refused create detaches what it attached (refused() checks the devices are as before).
        Path e = TestDevices.patternFile(dir, "e.img", SIZE);
        refused(DeviceBusyException.class, () -> m.create(store, LIMIT, List.of(e.toString(), "b")));
        refused(InvalidArgumentException.class, () -> m.create(store, LIMIT, List.of(e.toString(), e.toString())));
        m.take(id);
        assertEquals("c.img@" + id, m.info(c.toString()).image());
    }

    @Test
    void badAttachesAreRefused() throws Exception {
        UUID id = m.create(store, LIMIT, List.of());
        Path storageFile = Files.write(dir.resolve("storage.img"), new byte[4096]);
        UUID withFile = m.create(storageFile, LIMIT, List.of());
        Path other = TestDevices.patternFile(dir, "c.img", SIZE);
        Path link = Files.createSymbolicLink(dir.resolve("a-link"), fileA);
        refused(DeviceAlreadyAttachedException.class, () -> m.attach("a", other));
        refused(DeviceAlreadyAttachedException.class, () -> m.attach("c", fileA));
        refused(DeviceAlreadyAttachedException.class, () -> m.attach("c", link));
        refused(DeviceBusyException.class, () -> m.attach("c", storageFile));
        refused(InvalidArgumentException.class, () -> m.attach("-bad", other));
        refused(InvalidArgumentException.class, () -> m.attach("a/b", other));
        refused(PathException.class, () -> m.attach("c", dir.resolve("missing")));
        refused(PathException.class, () -> m.attach("c", store));
        refused(InvalidArgumentException.class, () -> m.attach("c", Files.createFile(dir.resolve("empty"))));
        refused(InvalidArgumentException.class, () -> m.attach("c", Files.write(dir.resolve("odd"), new byte[1000])));
        assertEquals(List.of(id, withFile), m.collect());
        m.attach("c", other);
    }

    @Test
    void aStorageThatCannotServeIsRefusedBeforeAnythingExists() throws Exception {
        Path fifo = dir.resolve("fifo");
        ChildProcess.of("mkfifo", fifo.toString()).check();
        Path link = Files.createSymbolicLink(dir.resolve("a-link"), fileA);
        StorageException onDevice = refused(StorageException.class, () -> m.create(fileA, LIMIT, List.of("b")));
        assertTrue(onDevice.getMessage().contains("tracked device a"), onDevice.getMessage());
        refused(StorageException.class, () -> m.create(link, LIMIT, List.of("b")));
        refused(StorageException.class, () -> m.create(fifo, LIMIT, List.of("a")));
        refused(StorageException.class, () -> m.create(Path.of("/dev/null"), LIMIT, List.of("a")));
        refused(StorageException.class, () -> m.create(dir.resolve("missing"), LIMIT, List.of("a")));
        refused(InvalidArgumentException.class, () -> m.create(store, 0, List.of("a")));
        refused(InvalidArgumentException.class, () -> m.create(store, 1000, List.of("a")));
        Path used = Files.write(dir.resolve("storage.img"), new byte[8192]);
        refused(StorageException.class, () -> m.create(used, 4096, List.of("a")));
        m.create(used, LIMIT, List.of("a"));
        StorageException busy = assertThrows(StorageException.class, () -> m.create(used, LIMIT, List.of("b")));
        assertEquals(Errno.EBUSY, busy.errno());
    }

    @Test
    void badDirtyRangesAndCbtReadsAreRefused() {
        refused(InvalidArgumentException.class, () -> m.markDirty("a", List.of(new long[] {0, 1}, new long[] {-1, 1})));
        refused(InvalidArgumentException.class, () -> m.markDirty("a", List.<long[]>of(new long[] {SIZE / 512, 1})));
        refused(InvalidArgumentException.class, () -> m.markDirty("a", List.<long[]>of(new long[] {0, Long.MAX_VALUE})));
        refused(InvalidArgumentException.class, () -> m.readCbtMap("a", 0, 1000));
        refused(InvalidArgumentException.class, () -> m.readCbtMap("a", -1, 1));
        m.markDirty("a", List.<long[]>of(new long[] {0, 1}));
        assertEquals(0, m.readCbtMap("a", 0, 1)[0], "readable = previous, which is 0 before any take");
    }

    @Test
    void badTrackerWritesAreRefusedAndMarkNothing() throws Exception {
        byte[] writable = a.cbt().state().writable();
        refused(InvalidArgumentException.class, () -> a.write(100, ByteBuffer.allocate(512)));
        refused(InvalidArgumentException.class, () -> a.write(0, ByteBuffer.allocate(100)));
        refused(InvalidArgumentException.class, () -> a.write(SIZE - 512, ByteBuffer.allocate(1024)));
        refused(InvalidArgumentException.class, () -> a.write(-512, ByteBuffer.allocate(512)));
        refused(InvalidArgumentException.class, () -> a.read(SIZE, ByteBuffer.allocate(512)));
        assertArrayEquals(writable, a.cbt().state().writable());
        stillUsable();
    }

    /** Asserts that call is refused with exactly type and leaves the state as it was. */
    private <T extends Throwable> T refused(Class<T> type, Executable call) {
        State before = state();
        T e = assertThrows(type, call);
        assertEquals(type, e.getClass(), "exactly " + type.getSimpleName() + ": " + e);
        if (e instanceof BlksnapException be) {
            assertTrue(be.errno() != null && !be.getMessage().isBlank());
        }
        State after = state();
        assertEquals(before.snapshots(), after.snapshots());
        assertEquals(before.devices(), after.devices());
        assertEquals(before.cbtA(), after.cbtA());
        assertEquals(before.cbtB(), after.cbtB());
        assertEquals(before.storeFiles(), after.storeFiles());
        assertArrayEquals(before.dataA(), after.dataA(), "device a untouched");
        return e;
    }

    private State state() {
        try (Stream<Path> files = Files.list(store)) {
            return new State(m.collect(), m.trackers().stream().map(Tracker::name).toList(), m.cbtInfo("a"),
                    m.cbtInfo("b"), files.sorted().toList(), TestDevices.readAll(a));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Both devices still take writes and read them back. */
    private void stillUsable() throws IOException {
        for (Tracker t : List.of(a, b)) {
            TestDevices.writePattern(t, 7, 3, 42, 42);
            ByteBuffer back = ByteBuffer.allocate(3 * 512);
            t.read(7 * 512, back);
            for (int i = 0; i < 3; i++) {
                SectorPattern.expect(back, i, 7 + i, 42, 42);
            }
        }
    }
}
