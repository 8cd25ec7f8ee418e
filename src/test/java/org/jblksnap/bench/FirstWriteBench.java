package org.jblksnap.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.tracker.Tracker;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The first write after take to a chunk: a 4 KiB write at a random place of a chunk never
 * copied, so every write copies one whole chunk to the difference storage first (a hidden
 * file in the bench directory, buffered; the device file is read into the page cache
 * beforehand, so copies measure the engine rather than the shared disk). One
 * operation is a batch of {@value #BATCH} such writes on a fresh snapshot (a snapshot has
 * only so many uncopied chunks), so chunks copied per second = BATCH / score.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, batchSize = FirstWriteBench.BATCH)
@Measurement(iterations = 8, batchSize = FirstWriteBench.BATCH)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class FirstWriteBench {
    public static final int BATCH = 1024;

    @State(Scope.Benchmark)
    public static class Snap {
        @Param("1024")
        int sizeMib;
        /** 16: the 64 KiB of the COW peers; 18: blksnap's default 256 KiB. */
        @Param({"16", "18"})
        int chunkShift;
        SnapshotManager manager;
        Tracker tracker;
        final SplittableRandom random = new SplittableRandom(7);
        final ByteBuffer buffer = BenchFiles.ioBuffer();
        long[] order;
        int next;
        UUID id;

        @Setup(Level.Trial)
        public void attach() throws IOException {
            manager = new SnapshotManager(BenchFiles.params(chunkShift));
            tracker = manager.attach("bench", BenchFiles.prepared("device.img", sizeMib));
            long chunks = tracker.capacity() >>> chunkShift;
            if (chunks <= BATCH) {
                throw new IllegalStateException("a device of " + chunks + " chunks cannot take a batch of " + BATCH);
            }
            order = new long[(int) chunks];
            // Chunk copies read the device from the page cache, not from the shared disk.
            ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
            for (long at = 0; at < tracker.capacity(); at += b.capacity()) {
                tracker.read(at, b.clear());
            }
        }

        /**
         * A fresh snapshot, and the chunks in a new random order. The first chunk is copied
         * here: its copy also makes the storage's first growth (diff_storage_minimum, 1 GiB by
         * default, more than a batch needs), which the batch should not count as chunk copies.
         */
        @Setup(Level.Iteration)
        public void take() throws IOException {
            id = manager.create(BenchFiles.storeDir(), tracker.capacity() + (1L << 30), List.of("bench"));
            manager.take(id);
            for (int i = 0; i < order.length; i++) {
                int j = random.nextInt(i + 1);
                order[i] = order[j];
                order[j] = i;
            }
            next = 0;
            write(this);
        }

        /** Checks every write of the batch did copy one chunk, then drops the snapshot. */
        @TearDown(Level.Iteration)
        public void destroy() throws IOException {
            long copied = manager.snapshot(id).copiedChunks();
            int error = manager.info("bench").errorCode();
            manager.destroy(id);
            if (copied != next || error != 0) {
                throw new IllegalStateException(next + " first writes copied " + copied + " chunks, error " + error);
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            manager.close();
        }
    }

    @Benchmark
    public void firstWrite(Snap s) throws IOException {
        write(s);
    }

    static void write(Snap s) throws IOException {
        long chunk = s.order[s.next++];
        long inChunk = s.random.nextLong((1L << s.chunkShift) / BenchFiles.IO_SIZE) * BenchFiles.IO_SIZE;
        s.tracker.write((chunk << s.chunkShift) + inChunk, s.buffer.clear());
    }
}
