package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.jblksnap.testutil.PageCache;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads around the page cache return what a buffered read returns, at any offset and length
 * (unaligned, across the pieces of the read buffer, past the end of the file), from many
 * threads at once (more than there are buffers), and leave nothing of the file cached.
 */
class UncachedReadsTest {
    private static final int SIZE = 9 * (1 << 20) + 4321;

    @TempDir
    Path dir;
    private Path file;
    private byte[] want;

    @BeforeEach
    void write() throws Exception {
        file = dir.resolve("p.pack");
        want = new byte[SIZE];
        new SplittableRandom(11).nextBytes(want);
        try (PackFileOutput out = PackFileOutput.create(file)) {
            assumeTrue(out.isDirect(), "the file system of " + dir + " refuses O_DIRECT");
            out.write(java.nio.ByteBuffer.wrap(want));
            out.force();
        }
    }

    private void check(long offset, int length) throws Exception {
        byte[] got = UncachedReads.read(file, offset, length);
        int from = (int) Math.min(offset, SIZE);
        assertArrayEquals(Arrays.copyOfRange(want, from, (int) Math.min(SIZE, offset + length)), got,
                length + " at " + offset);
    }

    @Test
    void rangesAnywhereReadAsWritten() throws Exception {
        check(0, SIZE);
        check(0, 1);
        check(1, 4095);
        check(4095, 2);
        check(4 << 20, 4 << 20);
        check((4 << 20) - 7, (4 << 20) + 14);
        check(SIZE - 10, 10);
        check(SIZE - 10, 1000);
        check(SIZE, 100);
        check(SIZE + 5000, 100);
        check(3, 0);
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 50; i++) {
            check(r.nextInt(SIZE), r.nextInt(SIZE));
        }
        assertEquals(0, PageCache.residentBytes(file), "bytes of the pack cached after reading it");
    }

    @Test
    void manyReadersAtOnceEachGetTheirBytes() throws Exception {
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        try {
            List<Future<?>> all = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                long offset = i * 200_003L % SIZE;
                all.add(pool.submit(() -> {
                    check(offset, 5 << 20);
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void aMissingPackIsTheErrorABufferedReadGives() {
        // verify counts a pack a prune removed meanwhile by this error
        String name = PackCatalog.PREFIX + "ab/" + "ab".repeat(16) + PackFile.SUFFIX;
        assertThrows(NoSuchFileException.class, () -> new DirectoryStore(dir).get(name));
    }
}
