package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

class ByteRangeIoTest {
    @Test
    void unalignedReadsAndWritesMatchAByteArray() throws Exception {
        MemoryBlockIo dev = new MemoryBlockIo(1 << 20, 0);
        ByteRangeIo io = new ByteRangeIo(dev);
        byte[] model = new byte[1 << 20];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 2000; i++) {
            int off = random.nextInt(model.length);
            int len = random.nextInt(i % 10 == 0 ? 200_000 : 1500) + 1;
            int n = Math.min(len, model.length - off);
            if (random.nextBoolean()) {
                byte[] data = new byte[len];
                random.nextBytes(data);
                ByteBuffer src = ByteBuffer.wrap(data);
                assertEquals(n, io.write(off, src));
                assertEquals(n, src.position(), "the source advances by what was written");
                System.arraycopy(data, 0, model, off, n);
            } else {
                ByteBuffer dst = ByteBuffer.allocateDirect(len);
                assertEquals(n, io.read(off, dst));
                byte[] got = new byte[n];
                dst.flip().get(got);
                assertArrayEquals(Arrays.copyOfRange(model, off, off + n), got, "read " + off + "+" + len);
            }
        }
        assertArrayEquals(model, dev.bytes);
    }

    @Test
    void requestsAreClippedAtTheEnd() throws Exception {
        ByteRangeIo io = new ByteRangeIo(new MemoryBlockIo(4096, 0));
        assertEquals(96, io.write(4000, ByteBuffer.allocate(200)));
        assertEquals(0, io.write(4096, ByteBuffer.allocate(1)));
        assertEquals(0, io.read(5000, ByteBuffer.allocate(10)));
        assertEquals(6, io.read(4090, ByteBuffer.allocate(10)));
        assertThrows(IllegalArgumentException.class, () -> io.read(-1, ByteBuffer.allocate(1)));
    }

    /** Writers that each own some bytes of the same sectors: read-modify-write must lose none. */
    @Test
    void concurrentPartialWritesToTheSameSectorsLoseNothing() throws Exception {
        int sectors = 64;
        int writers = 8;
        MemoryBlockIo dev = new MemoryBlockIo(sectors * 512, 20_000);
        ByteRangeIo io = new ByteRangeIo(dev);
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                done.add(pool.submit(() -> {
                    // Writer w owns bytes [w*64, w*64+64) of every sector; each write spans
                    // the end of one sector and the start of the next where possible.
                    for (int s = 0; s < sectors; s++) {
                        byte[] mine = new byte[64];
                        Arrays.fill(mine, (byte) (writer + 1));
                        io.write(s * 512L + writer * 64L, ByteBuffer.wrap(mine));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        for (int s = 0; s < sectors; s++) {
            for (int b = 0; b < 512; b++) {
                assertEquals(b / 64 + 1, dev.bytes[s * 512 + b], "sector " + s + " byte " + b);
            }
        }
    }

    /** A whole-sector write and a partial write of the same sector: one of the two orders, never a mix. */
    @Test
    void partialAndWholeSectorWritesSerialise() throws Exception {
        MemoryBlockIo dev = new MemoryBlockIo(512, 50_000);
        ByteRangeIo io = new ByteRangeIo(dev);
        for (int round = 0; round < 200; round++) {
            io.write(0, ByteBuffer.allocate(512));
            byte[] whole = new byte[512];
            Arrays.fill(whole, (byte) 7);
            Thread partial = Thread.ofPlatform().start(() -> {
                try {
                    io.write(10, ByteBuffer.wrap(new byte[] {9}));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            io.write(0, ByteBuffer.wrap(whole));
            partial.join();
            byte[] expectedA = whole.clone();
            expectedA[10] = 9;
            byte[] got = dev.bytes.clone();
            if (!Arrays.equals(got, whole) && !Arrays.equals(got, expectedA)) {
                throw new AssertionError("round " + round + ": the sector mixes old and new bytes");
            }
        }
    }
}
