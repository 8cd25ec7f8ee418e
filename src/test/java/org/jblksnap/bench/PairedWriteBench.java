package org.jblksnap.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.jblksnap.device.FileIo;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.tracker.Tracker;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * Plain and tracked 4 KiB random writes interleaved in blocks of {@value #BLOCK}, each block
 * timed (wall clock and thread CPU): both sides see the same moment of a shared machine, so
 * their ratio holds where separate runs drift apart. The tracked side runs without a snapshot
 * or as rewrites of chunks a taken snapshot has already copied.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class PairedWriteBench {
    static final int BLOCK = 256;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    @State(Scope.Benchmark)
    public static class Pair {
        @Param("1024")
        int sizeMib;
        @Param("18")
        int chunkShift;
        @Param({"noSnapshot", "rewrite"})
        String mode;
        FileChannel plain;
        long capacity;
        SnapshotManager manager;
        Tracker tracker;
        Path storage;

        @Setup(Level.Trial)
        public void open() throws IOException {
            Path plainFile = BenchFiles.prepared("plain.img", sizeMib);
            manager = new SnapshotManager(BenchFiles.params(chunkShift));
            tracker = manager.attach("bench", BenchFiles.prepared("device.img", sizeMib));
            capacity = tracker.capacity();
            if (mode.equals("rewrite")) {
                storage = BenchFiles.storeDir().resolve("paired-storage.img");
                Files.deleteIfExists(storage);
                Files.createFile(storage);
                UUID id = manager.create(storage, 2 * capacity + (1L << 30), List.of("bench"));
                manager.take(id);
                ByteBuffer b = BenchFiles.ioBuffer();
                for (long at = 0; at < capacity; at += 1L << chunkShift) {
                    tracker.write(at, b.clear());
                }
                if (manager.snapshot(id).copiedChunks() != capacity >>> chunkShift) {
                    throw new IllegalStateException("not every chunk was copied");
                }
                PageCache.settle(storage);
            }
            PageCache.settle(tracker.device().path());
            PageCache.settle(plainFile);
            plain = FileChannel.open(plainFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            plain.close();
            manager.close();
            if (storage != null) {
                Files.deleteIfExists(storage);
            }
        }
    }

    /** Time spent on each side during an iteration; the two sides make equally many writes. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Split {
        public long plainNanos;
        public long trackerNanos;
        public long plainCpuNanos;
        public long trackerCpuNanos;
        final SplittableRandom random = new SplittableRandom(42);
        final ByteBuffer buffer = BenchFiles.ioBuffer();
        private boolean trackerFirst;

        @Setup(Level.Iteration)
        public void reset() {
            plainNanos = trackerNanos = plainCpuNanos = trackerCpuNanos = 0;
        }
    }

    /** One block of plain writes and one of tracked writes, in alternating order. */
    @Benchmark
    public void pair(Pair p, Split s) throws IOException {
        s.trackerFirst = !s.trackerFirst;
        for (int side = 0; side < 2; side++) {
            boolean tracked = (side == 0) == s.trackerFirst;
            long cpu = THREADS.getCurrentThreadCpuTime();
            long wall = System.nanoTime();
            for (int i = 0; i < BLOCK; i++) {
                long at = s.random.nextLong(p.capacity / BenchFiles.IO_SIZE) * BenchFiles.IO_SIZE;
                if (tracked) {
                    p.tracker.write(at, s.buffer.clear());
                } else {
                    FileIo.writeFully(p.plain, at, s.buffer.clear());
                }
            }
            wall = System.nanoTime() - wall;
            cpu = THREADS.getCurrentThreadCpuTime() - cpu;
            if (tracked) {
                s.trackerNanos += wall;
                s.trackerCpuNanos += cpu;
            } else {
                s.plainNanos += wall;
                s.plainCpuNanos += cpu;
            }
        }
    }
}
