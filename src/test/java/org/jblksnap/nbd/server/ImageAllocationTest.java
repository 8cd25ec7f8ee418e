package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.image.SnapshotImage;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.testutil.SectorPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image's base:allocation while the device and the image are written: no range it
 * reports as a hole holds an image write finished before the query, and every other byte of
 * it reads as zeroes from the image unless an image write began there since.
 */
class ImageAllocationTest {
    private static final long SIZE = 64L << 20;
    private static final int PIECE = 64 << 10;

    @TempDir
    Path dir;

    @Test
    void reportedHolesAreZeroesInTheImageWhileTheDeviceIsWritten() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            // Data in every 7th piece, holes elsewhere.
            for (long off = 0; off < SIZE; off += 7L * PIECE) {
                f.tracker.write(off, SectorPattern.sectors(off / 512, PIECE / 512, NbdFixture.BASE_WRITER, 1));
            }
            f.takeSnapshot();
            SnapshotImage image = f.engine.image(NbdFixture.DEVICE);
            MetaContext allocation = new ImageAllocation(image, new SparseFile(f.deviceFile, SIZE));
            long holesChecked = 0;
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong imageWrites = new AtomicLong();
            Set<Long> started = ConcurrentHashMap.newKeySet();
            Set<Long> done = ConcurrentHashMap.newKeySet();
            Thread imageWriter = Thread.ofPlatform().start(() -> {
                SplittableRandom random = new SplittableRandom(11);
                while (!stop.get()) {
                    long off = random.nextLong(SIZE / 4096) * 4096;
                    try {
                        started.add(off);
                        image.write(off, SectorPattern.sectors(off / 512, 8, 4, imageWrites.incrementAndGet()));
                        done.add(off);
                        Thread.sleep(0, 500_000);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            try (NbdFixture.DeviceWriter w = f.startDeviceWriter()) {
                for (int round = 0; round < 200; round++) {
                    long offset = (round * 37L % 64) * (1 << 20);
                    long length = Math.min(SIZE - offset, 8L << 20);
                    Set<Long> doneBefore = Set.copyOf(done);
                    Extents out = new Extents(length, Extents.MAX_DESCRIPTORS);
                    allocation.extents(offset, length, out);
                    long pos = offset;
                    for (int i = 0; i < out.count(); i++) {
                        if ((out.flags(i) & Nbd.STATE_HOLE) != 0) {
                            assertHole(image, pos, out.length(i), doneBefore, started);
                            holesChecked += out.length(i);
                        }
                        pos += out.length(i);
                    }
                    assertTrue(pos == offset + length, "extents cover the query");
                }
                assertTrue(w.writes() > 0, "the device was written meanwhile");
            } finally {
                stop.set(true);
                imageWriter.join();
            }
            assertTrue(imageWrites.get() > 0, "the image was written meanwhile");
            assertTrue(holesChecked > 0, "some holes were reported and checked");
        }
    }

    private static void assertHole(SnapshotImage image, long offset, long length, Set<Long> doneBefore,
            Set<Long> started) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(4096);
        for (long page = offset; page < offset + length; page += b.capacity()) {
            if (doneBefore.contains(page)) {
                throw new AssertionError("image page " + page + " is reported as a hole after it was written");
            }
            image.read(page, b.clear());
            if (!b.flip().equals(ByteBuffer.allocate(b.capacity())) && !started.contains(page)) {
                throw new AssertionError("image page " + page + " is reported as a hole but is not zero");
            }
        }
    }
}
