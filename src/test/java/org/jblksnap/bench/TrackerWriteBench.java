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
 * 4 KiB random writes, buffered, to a file of sizeMib: straight through a FileChannel (the
 * limit), through a tracker with no snapshot, and through a tracker whose snapshot has already
 * copied every chunk (rewrites). First writes after take are in {@link FirstWriteBench}.
 * Each file starts written back and out of the page cache ({@link PageCache#settle}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class TrackerWriteBench {

    /** Random 4 KiB-aligned offsets and the buffer written, one per thread. */
    @State(Scope.Thread)
    public static class Io {
        final SplittableRandom random = new SplittableRandom(42);
        final ByteBuffer buffer = BenchFiles.ioBuffer();

        long nextOffset(long capacity) {
            return random.nextLong(capacity / BenchFiles.IO_SIZE) * BenchFiles.IO_SIZE;
        }

        ByteBuffer buffer() {
            return buffer.clear();
        }
    }

    /**
     * CPU time of the writing thread per iteration (user + system, so the kernel's part of
     * each write counts) and the writes made: CPU time per write barely changes when other
     * programs take the cores or the kernel throttles writers, unlike writes per second.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Cpu {
        private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
        public long cpuNanos;
        public long writes;
        private long start;

        @Setup(Level.Iteration)
        public void start() {
            writes = 0;
            cpuNanos = 0;
            start = THREADS.getCurrentThreadCpuTime();
        }

        @TearDown(Level.Iteration)
        public void stop() {
            cpuNanos = THREADS.getCurrentThreadCpuTime() - start;
        }
    }

    /** The plain file, opened as the engine opens a device. */
    @State(Scope.Benchmark)
    public static class Plain {
        @Param("1024")
        int sizeMib;
        FileChannel channel;
        long capacity;

        @Setup(Level.Trial)
        public void open() throws IOException {
            Path file = BenchFiles.prepared("plain.img", sizeMib);
            PageCache.settle(file);
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            capacity = channel.size();
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            channel.close();
        }
    }

    /** The device file attached to an engine, optionally in a taken snapshot with every chunk copied. */
    @State(Scope.Benchmark)
    public abstract static class Engine {
        @Param("1024")
        int sizeMib;
        @Param("18")
        int chunkShift;
        SnapshotManager manager;
        Tracker tracker;

        void attach() throws IOException {
            manager = new SnapshotManager(BenchFiles.params(chunkShift));
            tracker = manager.attach("bench", BenchFiles.prepared("device.img", sizeMib));
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            manager.close();
            removeFiles();
        }

        void removeFiles() throws IOException {
        }
    }

    @State(Scope.Benchmark)
    public static class NoSnapshot extends Engine {
        @Setup(Level.Trial)
        public void open() throws IOException {
            attach();
            PageCache.settle(tracker.device().path());
        }
    }

    /**
     * A taken snapshot whose chunks are all copied. The storage is a regular file here (not a
     * hidden one) so that its gigabyte of copies can be written back before measuring, and the
     * device's cache, filled by the chunk reads, is dropped like the other files'.
     */
    @State(Scope.Benchmark)
    public static class AllCopied extends Engine {
        Path storage;

        @Setup(Level.Trial)
        public void open() throws IOException {
            attach();
            storage = BenchFiles.storeDir().resolve("rewrite-storage.img");
            Files.deleteIfExists(storage);
            Files.createFile(storage);
            UUID id = manager.create(storage, 2L * tracker.capacity() + (1L << 30), List.of("bench"));
            manager.take(id);
            long chunk = 1L << chunkShift;
            ByteBuffer b = BenchFiles.ioBuffer();
            for (long at = 0; at < tracker.capacity(); at += chunk) {
                tracker.write(at, b.clear());
            }
            long copied = manager.snapshot(id).copiedChunks();
            if (copied != tracker.capacity() / chunk || manager.info("bench").errorCode() != 0) {
                throw new IllegalStateException("setup copied " + copied + " chunks, error "
                        + manager.info("bench").errorCode());
            }
            PageCache.settle(storage);
            PageCache.settle(tracker.device().path());
        }

        @Override
        void removeFiles() throws IOException {
            Files.deleteIfExists(storage);
        }
    }

    @Benchmark
    public void plain(Plain p, Io io, Cpu cpu) throws IOException {
        FileIo.writeFully(p.channel, io.nextOffset(p.capacity), io.buffer());
        cpu.writes++;
    }

    @Benchmark
    public void trackerNoSnapshot(NoSnapshot e, Io io, Cpu cpu) throws IOException {
        e.tracker.write(io.nextOffset(e.tracker.capacity()), io.buffer());
        cpu.writes++;
    }

    @Benchmark
    public void trackerRewrite(AllCopied e, Io io, Cpu cpu) throws IOException {
        e.tracker.write(io.nextOffset(e.tracker.capacity()), io.buffer());
        cpu.writes++;
    }
}
