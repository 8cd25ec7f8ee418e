package org.jblksnap.diff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.StorageException;
import org.jblksnap.params.Params;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiffStorageTest {
    /** Chunks of 4 KiB; the storage grows in steps of 64 sectors = 32 KiB. */
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "12",
            "diff_storage_minimum", "64"));
    private static final long STEP = 32 << 10;
    private static final int CHUNK = 4096;

    @TempDir
    Path dir;

    private final List<Long> noSpace = new CopyOnWriteArrayList<>();

    @Test
    void aDirectoryGetsAHiddenFileThatIsAlreadyUnlinked() throws IOException {
        Path storeDir = Files.createDirectory(dir.resolve("store"));
        Path file;
        try (DiffStorage s = DiffStorage.open(storeDir, 1 << 20, PARAMS, noSpace::add)) {
            assertEquals(DiffStorage.Kind.TEMP_FILE, s.kind());
            file = s.path();
            assertTrue(file.getFileName().toString().startsWith("."), "hidden: " + file);
            assertFalse(Files.exists(file), "unlinked as soon as open");
            assertEquals(List.of(), list(storeDir));
            roundTrip(s, 5);
            assertTrue(openDescriptorTo(file), "the storage holds the unlinked file open");
        }
        assertEquals(List.of(), list(storeDir), "nothing left in the directory after close");
        assertFalse(openDescriptorTo(file), "closed with the storage");
    }

    @Test
    void aRegularFileIsUsedFromItsStartAndKept() throws IOException {
        Path file = dir.resolve("diff.img");
        Files.write(file, new byte[40 << 10]); // 40 KiB already there
        try (DiffStorage s = DiffStorage.open(file, 1 << 20, PARAMS, noSpace::add)) {
            assertEquals(DiffStorage.Kind.FILE, s.kind());
            assertEquals(40 << 10, s.size());
            assertEquals(0, s.allocate(CHUNK));
            roundTrip(s, 3);
        }
        assertTrue(Files.size(file) >= 40 << 10, "the user's file stays");
    }

    @Test
    void growsByTheMinimumWhileHalfOfItIsLeftAndNeverPastTheLimit() throws IOException {
        long limit = 5 * STEP / 2; // 80 KiB: two full steps and a half one
        Path file = Files.createFile(dir.resolve("diff.img"));
        try (DiffStorage s = DiffStorage.open(file, limit, PARAMS, noSpace::add)) {
            assertEquals(0, s.size());
            List<Long> sizes = new ArrayList<>();
            for (int i = 0; i < limit / CHUNK; i++) {
                assertEquals((long) i * CHUNK, s.allocate(CHUNK), "linear allocation");
                long size = s.size();
                sizes.add(size);
                assertEquals(size, Files.size(file), "the file really has the space");
                assertTrue(size <= limit);
                long free = size - s.filled();
                if (size < limit) {
                    assertTrue(free > STEP / 2, "grows as soon as free space falls to half the minimum: " + free);
                    assertEquals(0, size % STEP, "grows in steps of diff_storage_minimum: " + size);
                }
            }
            assertEquals(List.of(STEP, 2 * STEP, limit), sizes.stream().distinct().toList());
        }
    }

    @Test
    void noSpaceIsReportedOnceAtTheLimitThenOverflowIsForGood() throws IOException {
        long limit = 5 * STEP / 2;
        Path file = Files.createFile(dir.resolve("diff.img"));
        try (DiffStorage s = DiffStorage.open(file, limit, PARAMS, noSpace::add)) {
            int chunks = (int) (limit / CHUNK); // 20
            for (int i = 0; i < chunks - 1; i++) {
                s.allocate(CHUNK);
                boolean low = s.size() == limit && s.size() - s.filled() <= STEP / 2;
                assertEquals(low ? 1 : 0, noSpace.size(), "after allocation " + i);
            }
            assertEquals(List.of(limit / 512), noSpace, "carries the total size requested, in sectors (upstream's requested_nr_sect)");
            assertFalse(s.isOverflow());
            // Two chunks do not fit in the one left: overflow.
            assertThrows(DiffStorageOverflowException.class, () -> s.allocate(2 * CHUNK));
            assertTrue(s.isOverflow());
            // From now on nothing is allocated, even what would fit.
            assertThrows(DiffStorageOverflowException.class, () -> s.allocate(CHUNK));
            assertThrows(DiffStorageOverflowException.class, () -> s.allocate(512));
            assertEquals(limit - CHUNK, s.filled());
            assertEquals(1, noSpace.size(), "no_space is reported once");
        }
    }

    @Test
    void aRaisedLimitLetsTheStorageGrowOnAndBringsALaterNoSpace() throws IOException {
        long limit = 2 * STEP;
        Path file = Files.createFile(dir.resolve("diff.img"));
        try (DiffStorage s = DiffStorage.open(file, limit, PARAMS, noSpace::add)) {
            while (noSpace.isEmpty()) {
                s.allocate(CHUNK);
            }
            assertEquals(List.of(limit / 512), noSpace);
            long filled = s.filled();
            // Refused: lower, not whole sectors; nothing changes.
            assertThrows(InvalidArgumentException.class, () -> s.raiseLimit(limit - STEP));
            assertThrows(InvalidArgumentException.class, () -> s.raiseLimit(limit + 100));
            assertEquals(new DiffStorage.Usage(DiffStorage.Kind.FILE, limit, filled, limit), s.usage());

            s.raiseLimit(4 * STEP);
            assertEquals(4 * STEP, s.limit());
            assertTrue(s.size() > limit, "grows on at once while it is low: " + s.size());
            assertEquals(s.size(), Files.size(file));
            while (noSpace.size() < 2) {
                s.allocate(CHUNK);
            }
            assertEquals(List.of(limit / 512, 4 * STEP / 512), noSpace, "a second no_space, at the new limit, with its total");
            while (s.filled() + CHUNK <= s.size()) {
                s.allocate(CHUNK);
            }
            assertThrows(DiffStorageOverflowException.class, () -> s.allocate(CHUNK));
            StorageException lost = assertThrows(StorageException.class, () -> s.raiseLimit(8 * STEP));
            assertEquals(Errno.EFAULT, lost.errno(), "an overflowed storage cannot be saved by a higher limit");
        }
    }

    @Test
    void anOverflowInAnotherThreadDoesNotOvertakeTheNoSpaceBeforeIt() throws Exception {
        // The allocation that reaches the limit reports no_space. An overflow that comes after
        // it, here in another thread while the report is being made, must be seen after it.
        long limit = 2 * STEP;
        List<String> order = new CopyOnWriteArrayList<>();
        AtomicReference<DiffStorage> storage = new AtomicReference<>();
        AtomicReference<Thread> other = new AtomicReference<>();
        LongConsumer report = sectors -> {
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    storage.get().allocate(limit);
                    order.add("allocated");
                } catch (IOException e) {
                    order.add("overflow");
                }
            });
            other.set(t);
            awaitBlockedOrDone(t);
            order.add("no_space");
        };
        Path file = Files.createFile(dir.resolve("diff.img"));
        try (DiffStorage s = DiffStorage.open(file, limit, PARAMS, report)) {
            storage.set(s);
            while (other.get() == null) {
                s.allocate(CHUNK);
            }
            other.get().join();
        }
        assertEquals(List.of("no_space", "overflow"), order);
    }

    @Test
    void aClosedStorageAllocatesNothingAndIsNotAnOverflow() throws IOException {
        Path file = Files.createFile(dir.resolve("diff.img"));
        DiffStorage s = DiffStorage.open(file, 1 << 20, PARAMS, noSpace::add);
        s.allocate(CHUNK);
        long size = s.size();
        s.close();
        IOException e = assertThrows(IOException.class, () -> s.allocate(STEP));
        assertFalse(e instanceof DiffStorageOverflowException, e.toString());
        assertFalse(s.isOverflow());
        assertEquals(size, Files.size(file), "no growth through a closed descriptor");
    }

    @Test
    void aLimitBelowTheExistingFileIsRefused() throws IOException {
        Path file = dir.resolve("diff.img");
        Files.write(file, new byte[64 << 10]);
        StorageException e = assertThrows(StorageException.class,
                () -> DiffStorage.open(file, 32 << 10, PARAMS, noSpace::add));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().contains("smaller than the existing"), e.getMessage());
        assertEquals(64 << 10, Files.size(file), "the file is untouched");
    }

    @Test
    void badLimitsAreRefusedBeforeAnythingIsCreated() throws IOException {
        Path storeDir = Files.createDirectory(dir.resolve("store"));
        assertThrows(InvalidArgumentException.class, () -> DiffStorage.open(storeDir, 0, PARAMS, noSpace::add));
        assertThrows(InvalidArgumentException.class, () -> DiffStorage.open(storeDir, -4096, PARAMS, noSpace::add));
        assertThrows(InvalidArgumentException.class, () -> DiffStorage.open(storeDir, 4097, PARAMS, noSpace::add));
        assertEquals(List.of(), list(storeDir));
    }

    @Test
    void aPathThatIsNoDirectoryFileOrBlockDeviceIsRefused() throws Exception {
        Path fifo = dir.resolve("fifo");
        ChildProcess.of("mkfifo", fifo.toString()).check();
        for (Path bad : List.of(fifo, Path.of("/dev/null"))) {
            StorageException e = assertThrows(StorageException.class, () -> DiffStorage.check(bad, 1 << 20));
            assertEquals(Errno.EINVAL, e.errno(), bad.toString());
            assertThrows(StorageException.class, () -> DiffStorage.open(bad, 1 << 20, PARAMS, noSpace::add));
        }
    }

    @Test
    void aMissingPathIsRefused() {
        Path missing = dir.resolve("no/such/place");
        StorageException e = assertThrows(StorageException.class,
                () -> DiffStorage.open(missing, 1 << 20, PARAMS, noSpace::add));
        assertEquals(Errno.ENOENT, e.errno());
        assertFalse(Files.exists(missing));
    }

    /** Writes count pattern chunks to fresh allocations and reads them back. */
    private static void roundTrip(DiffStorage s, int count) throws IOException {
        long[] at = new long[count];
        for (int i = 0; i < count; i++) {
            at[i] = s.allocate(CHUNK);
            s.write(at[i], SectorPattern.sectors(i * 8L, 8, 1, i));
        }
        for (int i = 0; i < count; i++) {
            ByteBuffer back = ByteBuffer.allocate(CHUNK);
            s.read(at[i], back);
            assertArrayEquals(SectorPattern.sectors(i * 8L, 8, 1, i).array(), back.array());
        }
    }

    private static List<Path> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.toList();
        }
    }

    private static boolean openDescriptorTo(Path file) throws IOException {
        String target = file.toString();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.anyMatch(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().startsWith(target);
                } catch (IOException e) {
                    return false;
                }
            });
        }
    }

    /** Waits (without sleeping) until t is blocked on a monitor or lock, or has finished. */
    private static void awaitBlockedOrDone(Thread t) {
        while (true) {
            Thread.State st = t.getState();
            if (st == Thread.State.BLOCKED || st == Thread.State.WAITING || st == Thread.State.TERMINATED) {
                return;
            }
            Thread.onSpinWait();
        }
    }
}
