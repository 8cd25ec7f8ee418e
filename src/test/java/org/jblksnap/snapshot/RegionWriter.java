package org.jblksnap.snapshot;

import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;

/**
 * A writer that owns a region of a device and writes pattern sectors of random length at
 * random places in it, so the device's final state is known from its model alone.
 */
final class RegionWriter {
    private static final int SECTOR = 512;

    private final int id;
    private final Tracker device;
    private final long firstSector;
    private final long[] model;
    private final int maxSectors;
    private final int chunkSectors;
    private final SplittableRandom random;
    private final AtomicReference<CountDownLatch> progress;
    private final WriteLog log;
    private long sequence;
    private long writes;
    private long crossings;

    /** Told of every write once it is done. */
    interface WriteLog {
        void written(Tracker device, long sector, int count);
    }

    RegionWriter(int id, Tracker device, long firstSector, int sectors, int maxSectors, int chunkSize,
            AtomicReference<CountDownLatch> progress) {
        this(id, device, firstSector, sectors, maxSectors, chunkSize, progress, (d, s, c) -> { });
    }

    /**
     * @param maxSectors  longest write
     * @param progress    counted down after every write (tests swap the latch at each take)
     * @param log         told of every write
     */
    RegionWriter(int id, Tracker device, long firstSector, int sectors, int maxSectors, int chunkSize,
            AtomicReference<CountDownLatch> progress, WriteLog log) {
        this.id = id;
        this.device = device;
        this.firstSector = firstSector;
        this.model = new long[sectors];
        this.maxSectors = Math.min(maxSectors, sectors);
        this.chunkSectors = chunkSize / SECTOR;
        this.random = new SplittableRandom(id * 7919L);
        this.progress = progress;
        this.log = log;
    }

    /** Writes until stop is set. */
    Void run(AtomicBoolean stop) throws IOException {
        return run(stop, Long.MAX_VALUE);
    }

    /** Writes until stop is set or budget writes are done. */
    Void run(AtomicBoolean stop, long budget) throws IOException {
        for (long n = 0; n < budget && !stop.get(); n++) {
            int count = 1 + random.nextInt(maxSectors);
            long at = random.nextLong(model.length - count + 1);
            long sector = firstSector + at;
            sequence++;
            TestDevices.writePattern(device, sector, count, id, sequence);
            for (int i = 0; i < count; i++) {
                model[(int) at + i] = TestDevices.stamp(id, sequence);
            }
            log.written(device, sector, count);
            writes++;
            if (sector / chunkSectors != (sector + count - 1) / chunkSectors) {
                crossings++;
            }
            progress.get().countDown();
        }
        return null;
    }

    /** Copies this writer's model into a whole-device model. Call after the writer stopped. */
    void putModel(long[] deviceModel) {
        System.arraycopy(model, 0, deviceModel, (int) firstSector, model.length);
    }

    Tracker device() {
        return device;
    }

    long writes() {
        return writes;
    }

    /** Writes that crossed a chunk border. */
    long crossings() {
        return crossings;
    }
}
