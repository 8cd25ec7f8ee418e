package org.jblksnap.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.PathException;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The device layer refuses bad requests and notices a backing file changing underneath. */
class BlockDeviceTest {
    private static final long SIZE = 1L << 20;

    @TempDir
    Path dir;

    @Test
    void openRefusesWhatIsNoDevice() throws Exception {
        PathException missing = assertThrows(PathException.class, () -> BlockDevice.open(dir.resolve("none")));
        assertEquals(Errno.ENOENT, missing.errno());
        PathException directory = assertThrows(PathException.class, () -> BlockDevice.open(dir));
        assertEquals(Errno.EINVAL, directory.errno());
        Path fifo = dir.resolve("fifo");
        ChildProcess.of("mkfifo", fifo.toString()).check();
        assertThrows(PathException.class, () -> BlockDevice.open(fifo));
        assertThrows(PathException.class, () -> BlockDevice.open(Path.of("/dev/null")));
        assertThrows(InvalidArgumentException.class, () -> BlockDevice.open(Files.createFile(dir.resolve("empty"))));
        assertThrows(InvalidArgumentException.class, () -> BlockDevice.open(Files.write(dir.resolve("odd"), new byte[513])));
    }

    @Test
    void unalignedAndOutOfRangeRequestsAreRefusedAndWriteNothing() throws IOException {
        Path file = TestDevices.patternFile(dir, "d.img", SIZE);
        byte[] before = Files.readAllBytes(file);
        try (BlockDevice d = BlockDevice.open(file)) {
            assertEquals(SIZE, d.capacity());
            assertThrows(InvalidArgumentException.class, () -> d.write(1, ByteBuffer.allocate(512)));
            assertThrows(InvalidArgumentException.class, () -> d.write(0, ByteBuffer.allocate(511)));
            assertThrows(InvalidArgumentException.class, () -> d.write(SIZE, ByteBuffer.allocate(512)));
            assertThrows(InvalidArgumentException.class, () -> d.write(Long.MAX_VALUE - 511, ByteBuffer.allocate(512)));
            assertThrows(InvalidArgumentException.class, () -> d.read(SIZE - 512, ByteBuffer.allocate(1024)));
            assertThrows(InvalidArgumentException.class, () -> d.read(-512, ByteBuffer.allocate(512)));
        }
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(SIZE, Files.size(file), "a refused write past the end does not grow the file");
    }

    @Test
    void aReadOnlyDeviceRefusesWrites() throws IOException {
        Path file = TestDevices.patternFile(dir, "d.img", SIZE);
        try (BlockDevice d = BlockDevice.open(file, true)) {
            assertTrue(d.isReadOnly());
            assertThrows(IOException.class, () -> d.write(0, ByteBuffer.allocate(512)));
            d.flush();
        }
    }

    @Test
    void aShrunkBackingFileFailsReadsPastItsEndAndFlush() throws IOException {
        Path file = TestDevices.patternFile(dir, "d.img", SIZE);
        try (SnapshotManager m = new SnapshotManager(TestDevices.params(Map.of()))) {
            Tracker t = m.attach("d", file);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(SIZE / 2);
            }
            IOException read = assertThrows(IOException.class, () -> t.read(SIZE - 4096, ByteBuffer.allocate(4096)));
            assertTrue(read.getMessage().contains("shrank"), read.getMessage());
            IOException flush = assertThrows(IOException.class, t::flush);
            assertTrue(flush.getMessage().contains("shrank from " + SIZE + " to " + SIZE / 2), flush.getMessage());
            // What is left still reads.
            ByteBuffer low = ByteBuffer.allocate(512);
            t.read(512, low);
            SectorPattern.expect(low, 0, 1, TestDevices.INITIAL_WRITER, 0);
        }
    }

    @Test
    void aDeletedBackingFileFailsFlush() throws IOException {
        Path file = TestDevices.patternFile(dir, "d.img", SIZE);
        try (SnapshotManager m = new SnapshotManager(TestDevices.params(Map.of()))) {
            Tracker t = m.attach("d", file);
            Files.delete(file);
            IOException flush = assertThrows(IOException.class, t::flush);
            assertTrue(flush.getMessage().contains("removed"), flush.getMessage());
            assertTrue(flush.getMessage().contains(file.toString()), flush.getMessage());
        }
    }

    @Test
    void aReplacedBackingFileFailsFlush() throws IOException {
        Path file = TestDevices.patternFile(dir, "d.img", SIZE);
        try (SnapshotManager m = new SnapshotManager(TestDevices.params(Map.of()))) {
            Tracker t = m.attach("d", file);
            t.flush();
            Files.delete(file);
            TestDevices.patternFile(dir, "d.img", SIZE);
            IOException flush = assertThrows(IOException.class, t::flush);
            assertTrue(flush.getMessage().contains("replaced"), flush.getMessage());
        }
    }

    @Test
    void kindsAndSameFile() throws IOException {
        Path file = TestDevices.patternFile(dir, "d.img", SIZE);
        Path link = Files.createSymbolicLink(dir.resolve("link"), file);
        assertEquals(BlockDevice.Kind.FILE, BlockDevice.kindOf(link));
        assertEquals(BlockDevice.Kind.DIRECTORY, BlockDevice.kindOf(dir));
        assertEquals(BlockDevice.Kind.MISSING, BlockDevice.kindOf(dir.resolve("none")));
        assertEquals(BlockDevice.Kind.OTHER, BlockDevice.kindOf(Path.of("/dev/null")));
        assertTrue(BlockDevice.sameFile(file, link));
        assertFalse(BlockDevice.sameFile(file, dir.resolve("none")));
    }
}
