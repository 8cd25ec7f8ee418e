package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.tracker.Tracker;

/**
 * The engine and an NBD server on a Unix socket in a test's temporary directory, with one
 * tracked device file ("disk0"), and the helpers the client tests share: filling the device
 * with a sector pattern, taking a snapshot, writing the device in the background, checking
 * what a client copied.
 */
final class NbdFixture implements AutoCloseable {
    static final String DEVICE = "disk0";
    /** The writer id of the pattern the device holds at take. */
    static final int BASE_WRITER = 1;
    /** The writer id of the background writes after take. */
    static final int LATER_WRITER = 2;

    final Path dir;
    final Path deviceFile;
    final Path socket;
    final SnapshotManager engine;
    final Tracker tracker;
    final NbdServer server;
    private UUID snapshot;

    NbdFixture(Path dir, long deviceSize) throws IOException {
        this(dir, deviceSize, NbdLimits.DEFAULTS);
    }

    /** With the server's limits given. */
    NbdFixture(Path dir, long deviceSize, NbdLimits limits) throws IOException {
        this.dir = dir;
        this.deviceFile = dir.resolve(DEVICE + ".img");
        try (RandomAccessFile f = new RandomAccessFile(deviceFile.toFile(), "rw")) {
            f.setLength(deviceSize); // sparse: all hole
        }
        this.socket = dir.resolve("nbd.sock");
        Params params = Params.defaults().with(Map.of("diff_storage_minimum", "131072")).corrected().params();
        this.engine = new SnapshotManager(params);
        this.tracker = engine.attach(DEVICE, deviceFile);
        this.server = new NbdServer(engine, false, limits);
        server.listenUnix(socket);
    }

    String uri(String export) {
        return "nbd+unix:///" + export + "?socket=" + socket;
    }

    long size() {
        return tracker.capacity();
    }

    /** Writes the base pattern (writer 1, sequence seq) over the whole device, through the tracker. */
    void fillDevice(long seq) throws IOException {
        int piece = 1 << 20;
        ByteBuffer b = ByteBuffer.allocateDirect(piece);
        for (long off = 0; off < size(); off += piece) {
            int n = (int) Math.min(piece, size() - off);
            b.clear().limit(n);
            SectorPattern.fill(b, off / SectorPattern.SECTOR, n / SectorPattern.SECTOR, BASE_WRITER, seq);
            tracker.write(off, b);
        }
    }

    /** Creates and takes a snapshot of the device; returns its image's export name. */
    String takeSnapshot() throws IOException {
        snapshot = engine.create(dir, 4L << 30, List.of(DEVICE));
        engine.take(snapshot);
        return imageName();
    }

    String imageName() {
        return SnapshotImage.name(DEVICE, snapshot);
    }

    UUID snapshotId() {
        return snapshot;
    }

    void destroySnapshot() throws IOException {
        engine.destroy(snapshot);
        snapshot = null;
    }

    /** Writes random 64 KiB pieces of the later pattern to the device until stopped. */
    final class DeviceWriter implements AutoCloseable {
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicLong writes = new AtomicLong();
        private final Thread thread;
        private volatile Throwable failure;

        DeviceWriter() {
            thread = Thread.ofPlatform().name("device-writer").start(this::loop);
        }

        private void loop() {
            SplittableRandom random = new SplittableRandom(7);
            int piece = 64 << 10;
            ByteBuffer b = ByteBuffer.allocateDirect(piece);
            try {
                while (!stop.get()) {
                    long off = random.nextLong(size() / piece) * piece;
                    b.clear();
                    SectorPattern.fill(b, off / SectorPattern.SECTOR, piece / SectorPattern.SECTOR, LATER_WRITER,
                            writes.incrementAndGet());
                    tracker.write(off, b);
                    Thread.sleep(0, 200_000);
                }
            } catch (Throwable t) {
                failure = t;
            }
        }

        long writes() {
            return writes.get();
        }

        @Override
        public void close() throws Exception {
            stop.set(true);
            thread.join();
            if (failure != null) {
                throw new AssertionError("background device writes failed", failure);
            }
        }
    }

    DeviceWriter startDeviceWriter() {
        return new DeviceWriter();
    }

    /** Checks that a file holds exactly the base pattern of sequence seq, sector by sector. */
    static void assertBasePattern(Path file, long seq) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            int piece = 1 << 20;
            ByteBuffer b = ByteBuffer.allocate(piece);
            long size = ch.size();
            for (long off = 0; off < size; off += piece) {
                b.clear().limit((int) Math.min(piece, size - off));
                while (b.hasRemaining()) {
                    if (ch.read(b, off + b.position()) < 0) {
                        throw new IOException("short file " + file);
                    }
                }
                for (int i = 0; i < b.limit() / SectorPattern.SECTOR; i++) {
                    SectorPattern.expect(b, i, off / SectorPattern.SECTOR + i, BASE_WRITER, seq);
                }
            }
        }
    }

    /**
     * Checks that the device holds only what the engine wrote to it itself: the base pattern
     * of sequence 1 or the background writer's; never an image's writes.
     */
    void assertDeviceHasOnlyBaseAndLaterWrites() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1 << 20);
        for (long off = 0; off < size(); off += b.capacity()) {
            b.clear();
            tracker.read(off, b);
            for (int i = 0; i < b.capacity() / SectorPattern.SECTOR; i++) {
                SectorPattern.Stamp s = SectorPattern.decode(b, i, off / SectorPattern.SECTOR + i);
                if (!(s.writer() == BASE_WRITER && s.sequence() == 1) && s.writer() != LATER_WRITER) {
                    throw new AssertionError("device sector " + s.sector() + " was written by " + s);
                }
            }
        }
    }

    /** Byte-for-byte equality of two files. */
    static void assertSameContent(Path a, Path b) throws IOException {
        assertEquals(Files.size(a), Files.size(b), "sizes of " + a + " and " + b);
        assertEquals(-1L, Files.mismatch(a, b), "first difference between " + a + " and " + b);
    }

    @Override
    public void close() throws IOException {
        server.close();
        engine.close();
    }
}
