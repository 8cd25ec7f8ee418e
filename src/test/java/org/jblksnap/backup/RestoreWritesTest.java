package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;
import org.jblksnap.fuse.Kernel;
import org.jblksnap.testutil.PageCache;
import org.jblksnap.testutil.SmallTmpfs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore's writes land byte for byte wherever they start and however long they are, and
 * the aligned ones bypass the page cache: right after them, before any fdatasync or hint,
 * only the unaligned tail is cached.
 */
class RestoreWritesTest {
    private static final int BLOCK = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void writesLandWholeAndOnlyTheUnalignedTailIsCached() throws Exception {
        Path file = dir.resolve("image.raw");
        int size = 3 * BLOCK + 1536; // a device of 512-byte sectors: its last block ends off a page
        byte[] want = new byte[size];
        new SplittableRandom(17).nextBytes(want);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                RestoreWrites writes = new RestoreWrites(ch, file, BLOCK)) {
            assumeTrue(writes.isDirect(), "the file system of " + dir + " refuses O_DIRECT");
            writes.write(0, want, 0, BLOCK);                                 // a whole block
            writes.write(BLOCK, want, BLOCK, 64 << 10);                      // a run of one chunk
            writes.write(BLOCK + (128 << 10), want, BLOCK + (128 << 10), BLOCK - (128 << 10)); // a run to the block's end, a hole before
            writes.write(2L * BLOCK, want, 2 * BLOCK, BLOCK);
            writes.write(3L * BLOCK, want, 3 * BLOCK, 1536);                 // the device's tail
            assertEquals(4096, PageCache.residentBytes(file), "bytes cached: only the tail's page");
        }
        byte[] got = Files.readAllBytes(file);
        Arrays.fill(want, BLOCK + (64 << 10), BLOCK + (128 << 10), (byte) 0); // the hole reads as zeroes
        assertArrayEquals(want, got);
    }

    @Test
    void anUnalignedStartGoesThroughTheCacheAndStillLands() throws Exception {
        Path file = dir.resolve("odd.raw");
        byte[] want = new byte[10_000];
        new SplittableRandom(3).nextBytes(want);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                RestoreWrites writes = new RestoreWrites(ch, file, BLOCK)) {
            writes.write(0, want, 0, 512);
            writes.write(512, want, 512, want.length - 512);
        }
        assertArrayEquals(want, Files.readAllBytes(file));
    }

    /**
     * A full file system under a direct write is ENOSPC, as it is for a buffered one: the
     * restore's error names the cause and the exit code is the same whichever way it wrote.
     */
    @Test
    void aFullFileSystemUnderADirectWriteIsEnospc() throws Exception {
        Kernel.assumeRoot("a small tmpfs of its own needs a mount");
        try (SmallTmpfs small = SmallTmpfs.mount(dir, "small", "3M")) {
            Path file = small.path().resolve("image.raw");
            byte[] block = new byte[BLOCK];
            new SplittableRandom(5).nextBytes(block);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    RestoreWrites writes = new RestoreWrites(ch, file, BLOCK)) {
                assumeTrue(writes.isDirect(), "tmpfs refuses O_DIRECT on this kernel");
                IOException full = null;
                for (long pos = 0; full == null && pos < (64L << 20); pos += BLOCK) {
                    try {
                        writes.write(pos, block, 0, BLOCK);
                    } catch (IOException e) {
                        full = e;
                    }
                }
                assertNotNull(full, "the 3 MiB tmpfs never filled");
                assertEquals(Errno.ENOSPC, assertInstanceOf(EngineIOException.class, full).errno(), full.toString());
            }
        }
    }
}
