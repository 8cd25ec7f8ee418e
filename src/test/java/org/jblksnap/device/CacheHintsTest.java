package org.jblksnap.device;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

import org.jblksnap.testutil.PageCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page cache hints of a device, seen with util-linux's fincore: attaching a writable
 * device drops what is cached of it, and its reads cache what they read, no readahead.
 */
class CacheHintsTest {
    private static final int SIZE = 32 << 20;

    @TempDir
    Path dir;

    @Test
    void attachDropsTheCleanCacheAndReadsDoNotReadAhead() throws Exception {
        Path file = dir.resolve("dev.img");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            byte[] bytes = new byte[SIZE];
            new SplittableRandom(3).nextBytes(bytes);
            FileIo.writeFully(ch, 0, ByteBuffer.wrap(bytes));
            ch.force(true); // clean pages, which a hint may drop
            FileIo.readFully(ch, 0, ByteBuffer.allocate(SIZE), file);
        }
        assumeTrue(PageCache.residentBytes(file) == SIZE, "the file system of " + dir + " shows no page cache of a file just read");

        try (BlockDevice device = BlockDevice.open(file)) {
            assertTrue(PageCache.residentBytes(file) < SIZE / 8, "attach dropped the cache: " + PageCache.residentBytes(file) + " bytes left");
            ByteBuffer page = ByteBuffer.allocate(4096);
            for (int i = 0; i < 16; i++) {
                device.read(i * 4096L, page.clear());
            }
            // Kernel readahead would see a sequential reader and cache well beyond its reads.
            assertTrue(PageCache.residentBytes(file) <= 64 << 10, "16 sequential 4 KiB reads cached " + PageCache.residentBytes(file) + " bytes");
        }
    }

    @Test
    void readOnlyOpenKeepsTheCache() throws Exception {
        Path file = dir.resolve("ro.img");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            FileIo.writeFully(ch, 0, ByteBuffer.allocate(SIZE / 4).put(0, (byte) 1));
            ch.force(true);
            FileIo.readFully(ch, 0, ByteBuffer.allocate(SIZE / 4), file);
        }
        assumeTrue(PageCache.residentBytes(file) == SIZE / 4, "the file system of " + dir + " shows no page cache of a file just read");
        try (BlockDevice device = BlockDevice.open(file, true)) {
            assertTrue(PageCache.residentBytes(file) == SIZE / 4, "a read-only open leaves the cache as it is");
        }
    }
}
