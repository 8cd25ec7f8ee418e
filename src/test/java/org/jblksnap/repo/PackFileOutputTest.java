package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.jblksnap.device.DirectIo;
import org.jblksnap.fuse.Kernel;
import org.jblksnap.testutil.PageCache;
import org.jblksnap.testutil.SmallTmpfs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A pack file's bytes, written around the page cache or through it: what is read back while it
 * is written and what the file holds at the end are what was written, wherever the bytes are
 * (in the file, in the buffer, across the two), and at any length (not a multiple of a block).
 */
class PackFileOutputTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "direct {0}")
    @ValueSource(booleans = {true, false})
    void readsWhileWritingAndTheFileAtTheEndHoldWhatWasWritten(boolean direct) throws Exception {
        Path file = dir.resolve("p.pack");
        SplittableRandom random = new SplittableRandom(7);
        byte[] want = new byte[3 * PackFileOutput.STAGE + 12345];
        random.nextBytes(want);
        try (PackFileOutput out = PackFileOutput.create(file, direct)) {
            if (direct) {
                assumeTrue(out.isDirect(), "the file system of " + dir + " refuses O_DIRECT");
            }
            int at = 0;
            while (at < want.length) {
                int n = Math.min(want.length - at, 1 + random.nextInt(200_000));
                out.write(ByteBuffer.wrap(want, at, n));
                at += n;
                assertEquals(at, out.size());
                for (int i = 0; i < 4; i++) { // ranges in the file, in the buffer, across both, past the end
                    int off = random.nextInt(at);
                    int len = 1 + random.nextInt(300_000);
                    assertArrayEquals(Arrays.copyOfRange(want, off, Math.min(at, off + len)), out.read(off, len),
                            "read of " + len + " at " + off + " of " + at);
                }
            }
            out.force();
            assertEquals(want.length, Files.size(file));
            assertArrayEquals(Arrays.copyOfRange(want, 1000, 5000), out.read(1000, 4000));
        }
        assertArrayEquals(want, Files.readAllBytes(file));
    }

    /**
     * Packs written by a backup leave nothing in the page cache: they would push out the host's own
     * data, and copying them into newly allocated cache pages was a quarter of a full backup's CPU.
     */
    @Test
    void aDirectPackLeavesTheFileOutOfThePageCache() throws Exception {
        Path file = dir.resolve("p.pack");
        byte[] data = new byte[2 * PackFileOutput.STAGE + 4097];
        new SplittableRandom(3).nextBytes(data);
        try (PackFileOutput out = PackFileOutput.create(file)) {
            assumeTrue(out.isDirect(), "the file system of " + dir + " refuses O_DIRECT");
            out.write(ByteBuffer.wrap(data));
            out.force();
        }
        assertEquals(0, PageCache.residentBytes(file), "bytes of the pack cached");
        assertArrayEquals(data, Files.readAllBytes(file));
    }

    @ParameterizedTest(name = "direct {0}")
    @ValueSource(booleans = {true, false})
    void aClosedOutputRefusesReadsAndWrites(boolean direct) throws Exception {
        Path file = dir.resolve("p.pack");
        PackFileOutput out = PackFileOutput.create(file, direct);
        out.write(ByteBuffer.wrap(new byte[100]));
        out.close();
        out.close();
        assertThrows(ClosedChannelException.class, () -> out.read(0, 10));
        assertThrows(ClosedChannelException.class, () -> out.write(ByteBuffer.wrap(new byte[1])));
        assertThrows(ClosedChannelException.class, out::force);
    }

    /**
     * A direct write that fails (the file system full) leaves the output failed: size() still
     * counts what write() accepted, and every later read, write or force fails instead of
     * answering from a file that holds an unknown part of the buffer.
     */
    @Test
    void aFailedDirectWriteFailsEveryLaterCall() throws Exception {
        Kernel.assumeRoot("a small tmpfs of its own needs a mount");
        try (SmallTmpfs small = SmallTmpfs.mount(dir, "small", "3M")) {
            byte[] piece = new byte[300_000];
            new SplittableRandom(1).nextBytes(piece);
            try (PackFileOutput out = PackFileOutput.create(small.path().resolve("p.pack"))) {
                assumeTrue(out.isDirect(), "tmpfs refuses O_DIRECT on this kernel");
                long accepted = 0;
                IOException full = null;
                while (full == null && accepted < (64 << 20)) {
                    try {
                        out.write(ByteBuffer.wrap(piece));
                        accepted += piece.length;
                    } catch (IOException e) {
                        full = e;
                    }
                }
                assertTrue(full != null, "the 3 MiB tmpfs never filled");
                long size = out.size();
                assertTrue(size >= accepted && size <= accepted + piece.length, size + " after " + accepted + " accepted");
                assertThrows(IOException.class, () -> out.read(0, 10));
                assertThrows(IOException.class, () -> out.write(ByteBuffer.wrap(piece)));
                assertThrows(IOException.class, out::force);
            }
        }
    }

    @Test
    void aFileSystemItCannotFindIsWrittenBufferedNotRefused() throws Exception {
        assertEquals(0, DirectIo.alignment(dir.resolve("no-such-dir/p.pack")), "alignment of what has no store");
    }

    @Test
    void anExistingFileIsNotOverwritten() throws IOException {
        Path file = dir.resolve("p.pack");
        Files.write(file, new byte[] {1, 2, 3});
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> PackFileOutput.create(file));
        assertTrue(Arrays.equals(new byte[] {1, 2, 3}, Files.readAllBytes(file)));
    }
}
