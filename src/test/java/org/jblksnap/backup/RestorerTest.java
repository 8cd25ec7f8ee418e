package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import org.jblksnap.device.FileIo;
import org.jblksnap.fuse.Kernel;
import org.jblksnap.repo.BadEntryException;
import org.jblksnap.repo.EntryType;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.Points;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.PageCache;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Restores of points whose blocks mix data chunks, zero chunks and zero blocks, to new and existing files. */
@Timeout(120)
class RestorerTest {
    private static final int MIB = 1 << 20;
    private static final int CS = 64 << 10;
    /** Three blocks and a short fourth, whose last chunk is short too. */
    private static final int SIZE = 3 * 4 * MIB + 5 * CS + 1000;

    @TempDir
    Path dir;

    private final Progress progress = Progress.quiet(new PrintStream(new ByteArrayOutputStream(), true,
            StandardCharsets.UTF_8));

    /**
     * Block 0: data and zero chunks alternating in runs of 1 to 3; block 1: zeroes; block 2:
     * data only; block 3 (short): a zero chunk between data, ending with a short data chunk.
     */
    private static byte[] content() {
        byte[] b = new byte[SIZE];
        Random rnd = new Random(7);
        int[] runs = {1, 2, 3, 1, 3, 2};
        int c = 0;
        for (int k = 0; c < 64; k++) {
            int n = Math.min(runs[k % runs.length], 64 - c);
            if (k % 2 == 0) {
                fill(rnd, b, c * CS, n * CS);
            }
            c += n;
        }
        fill(rnd, b, 8 * MIB, 4 * MIB);
        fill(rnd, b, 12 * MIB, 2 * CS);
        fill(rnd, b, 12 * MIB + 3 * CS, 2 * CS + 1000);
        return b;
    }

    /** Half random, half text-like, so that chunks compress differently. */
    private static void fill(Random rnd, byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            b[i] = (i / 4096) % 2 == 0 ? (byte) rnd.nextInt() : (byte) ('a' + i % 23);
        }
    }

    private final byte[] want = content();
    private long point;

    @BeforeEach
    void commit() throws IOException {
        try (Repository repo = Repository.openOrCreate(dir.resolve("repo"), RepositoryConfig.of(CS, 4 * MIB))) {
            point = Points.commit(repo, "vda", want);
        }
    }

    private RestoreSummary restore(Path target) throws IOException {
        try (Repository repo = Repository.open(dir.resolve("repo"), false)) {
            return new Restorer(repo, progress, 2).restore(point, target);
        }
    }

    /** The bytes the file's data chunks take on disk, at most: each rounded up to 4 KiB. */
    private static long dataAllocation(byte[] content) {
        long n = 0;
        for (int off = 0; off < content.length; off += CS) {
            int len = Math.min(CS, content.length - off);
            if (Arrays.mismatch(content, off, off + len, new byte[len], 0, len) >= 0) {
                n += (len + 4095) / 4096 * 4096;
            }
        }
        return n;
    }

    private static long allocated(Path file) throws Exception {
        return Long.parseLong(Cmd.run("stat", "-c", "%b", file.toString()).trim()) * 512;
    }

    private void assertRestoredSparse(Path file) throws Exception {
        assertArrayEquals(want, Files.readAllBytes(file));
        // a zero chunk written would add 64 KiB; the file system's own blocks (ext4's extent tree) a few KiB
        assertTrue(allocated(file) < dataAllocation(want) + CS,
                "zero chunks are holes: " + allocated(file) + " bytes allocated, data " + dataAllocation(want));
        assertNoTemporaryFile();
    }

    private void assertNoTemporaryFile() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().contains(".restore-")).toList(),
                    "no temporary file is left");
        }
    }

    /** A file of the point's size, all data (0x5a), at out; returns its content. */
    private static byte[] oldFile(Path out) throws IOException {
        byte[] old = new byte[SIZE];
        Arrays.fill(old, (byte) 0x5a);
        Files.write(out, old);
        return old;
    }

    @Test
    void aPointOfMixedBlocksRestoresToANewFileWithHolesWhereZero() throws Exception {
        Path out = dir.resolve("new.raw");
        RestoreSummary s = restore(out);
        assertRestoredSparse(out);
        assertTrue(s.sparse());
        assertEquals(SIZE, s.size());
        assertEquals(dataAllocation(want) - 4096 + 1000, s.bytesWritten(), "only data chunks are written");
    }

    /**
     * A restore leaves no pages of the image in the page cache (Writeback: DONTNEED after each
     * fdatasync and at the end): it neither evicts what the host caches nor grows into fresh pages.
     */
    @Test
    void aRestoreLeavesTheImageOutOfThePageCache() throws Exception {
        Path out = dir.resolve("uncached.raw");
        restore(out);
        assertEquals(0, PageCache.residentBytes(out), "bytes of the restored image still cached");
        assertArrayEquals(want, Files.readAllBytes(out));
    }

    @Test
    void anExistingFileOfDataIsReplacedWholeKeepingItsPermissions() throws Exception {
        Path out = dir.resolve("old.raw");
        oldFile(out);
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rw-r-----"));
        assertTrue(allocated(out) >= SIZE - 4096, "the old file is not sparse");
        restore(out);
        assertRestoredSparse(out);
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
    }

    /**
     * A block device has no holes and keeps what it held: every zero chunk must be written
     * as zeroes over the old data (0x5a), and nothing past the point's size touched. Each of
     * the eight blocks has its zero chunks in other places (chunk j of block k is zero when j
     * is a multiple of k + 2), so a thread's block buffer that kept an earlier block's data
     * where this block's zeroes go shows too.
     */
    @Test
    void aPointRestoresToALoopDeviceOfOldDataWithItsZeroesWritten() throws Exception {
        Kernel.assumeLoopDevices();
        ChildProcess.assumeInstalled("losetup");
        int size = 8 * 4 * MIB;
        byte[] content = new byte[size];
        Random rnd = new Random(11);
        for (int k = 0; k < 8; k++) {
            for (int j = 0; j < 64; j++) {
                if (j % (k + 2) != 0) {
                    fill(rnd, content, k * 4 * MIB + j * CS, CS);
                }
            }
        }
        long diskPoint;
        try (Repository repo = Repository.open(dir.resolve("repo"), false)) {
            diskPoint = Points.commit(repo, "sdb", content);
        }
        int deviceSize = size + 64 * 1024; // room after the point: left alone
        byte[] old = new byte[deviceSize];
        Arrays.fill(old, (byte) 0x5a);
        Path backing = dir.resolve("backing.img");
        Files.write(backing, old);
        Path loop = Path.of(ChildProcess.of("losetup", "--find", "--show", backing.toString()).check().out().strip());
        try {
            RestoreSummary s;
            try (Repository repo = Repository.open(dir.resolve("repo"), false)) {
                s = new Restorer(repo, progress, 2).restore(diskPoint, loop);
            }
            assertEquals(false, s.sparse());
            assertEquals(size, s.bytesWritten(), "the whole point is written, zeroes too");
            byte[] got = new byte[deviceSize];
            try (FileChannel ch = FileChannel.open(loop, StandardOpenOption.READ)) {
                FileIo.readFully(ch, 0, ByteBuffer.wrap(got), loop);
            }
            assertArrayEquals(content, Arrays.copyOf(got, size));
            assertArrayEquals(Arrays.copyOfRange(old, size, deviceSize), Arrays.copyOfRange(got, size, deviceSize),
                    "past the point's size the device is as it was");
        } finally {
            ChildProcess.of("losetup", "-d", loop.toString()).check();
        }
    }

    @Test
    void aDamagedChunkFailsTheRestoreNamingItAndLeavesTheOldFileAsItWas() throws Exception {
        Path out = dir.resolve("old.raw");
        byte[] old = oldFile(out);
        Hash damaged;
        try (Repository repo = Repository.open(dir.resolve("repo"), false)) {
            damaged = Points.chunks(repo, point).get(3);
            Points.damage(repo, EntryType.CHUNK, damaged);
        }
        BadEntryException e = assertThrows(BadEntryException.class, () -> restore(out));
        assertTrue(e.getMessage().startsWith("chunk " + damaged.hex() + ": ") && e.getMessage().contains("(in pack "),
                e.getMessage());
        assertArrayEquals(old, Files.readAllBytes(out), "the old file is as it was");
        assertNoTemporaryFile();
    }
}
