package org.jblksnap.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ExecutionException;

import org.jblksnap.backup.BlockSource;
import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.nbd.client.Extent;
import org.jblksnap.nbd.client.NbdAddress;
import org.jblksnap.nbd.client.NbdClient;
import org.jblksnap.nbd.protocol.CbtBitmapName;
import org.jblksnap.nbd.protocol.Nbd;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's in-process reader of an image export gives exactly what an NBD client of the
 * daemon's socket gets: the same size, contexts, extents (of base:allocation and of the CBT
 * bitmap, both fragmented beyond what one BLOCK_STATUS reply carries, and the device's size not
 * a multiple of a CBT block or a page) and bytes; a destroyed snapshot fails its reads and opens.
 */
class InProcessExportTest {
    private static final String DEV = "d";
    /** Not a multiple of 4 KiB: the last CBT block and chunk are short. */
    private static final long SIZE = (256L << 20) + 1536;
    private static final int PAGE = 4096;

    @TempDir
    Path dir;
    Daemon daemon;
    Path file;

    @BeforeEach
    void start() throws IOException {
        file = dir.resolve("d.img");
        SplittableRandom r = new SplittableRandom(7);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(SIZE);
            ch.write(ByteBuffer.allocate(1), SIZE - 1); // sets the size
            byte[] page = new byte[PAGE];
            for (long p = 0; p < SIZE / PAGE; p++) {
                if (p % 2 == 0) {
                    r.nextBytes(page);
                    ch.write(ByteBuffer.wrap(page), p * PAGE);
                }
            }
        }
        DaemonConfig c = new DaemonConfig();
        c.runDir = dir.resolve("run");
        c.devices.put(DEV, file);
        c.params.put("tracking_block_minimum_shift", "12");
        c.params.put("chunk_minimum_shift", "12");
        daemon = new Daemon(c);
        daemon.start();
    }

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void extentsContextsAndBytesAreTheNbdClients() throws Exception {
        var engine = daemon.engine();
        UUID first = engine.create(dir, 1L << 30, List.of(DEV));
        engine.take(first);
        engine.destroy(first);
        // between the takes: every other CBT block marked, and some writes (filling holes too)
        List<long[]> marks = new ArrayList<>();
        for (long b = 0; b < SIZE / PAGE; b += 2) {
            marks.add(new long[] {b * PAGE / 512, PAGE / 512});
        }
        engine.markDirty(DEV, marks);
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 500; i++) {
            long off = r.nextLong(SIZE / 512 - 16) * 512;
            byte[] b = new byte[8192];
            r.nextBytes(b);
            engine.tracker(DEV).write(off, ByteBuffer.wrap(b));
        }
        UUID second = engine.create(dir, 1L << 30, List.of(DEV));
        engine.take(second);
        try {
            // after take: device writes (COW copies) and image writes
            for (int i = 0; i < 300; i++) {
                long off = r.nextLong(SIZE / 512 - 16) * 512;
                byte[] b = new byte[4096];
                r.nextBytes(b);
                engine.tracker(DEV).write(off, ByteBuffer.wrap(b));
                long ioff = r.nextLong(SIZE / 512 - 16) * 512;
                engine.image(DEV).write(ioff, ByteBuffer.wrap(new byte[2048]));
            }
            String image = engine.image(DEV).name();
            CbtInfo cbt = engine.cbtInfo(DEV);
            for (int since = 0; since <= cbt.changesNumber(); since++) {
                String bitmap = new CbtBitmapName(cbt.generationId().toString(), since).context();
                compare(image, List.of(Nbd.CONTEXT_BASE_ALLOCATION, bitmap), cbt);
            }
            compare(image, List.of(Nbd.CONTEXT_BASE_ALLOCATION, new CbtBitmapName(UUID.randomUUID().toString(), 0)
                    .context()), cbt);
        } finally {
            engine.destroy(second);
        }
    }

    private void compare(String image, List<String> queries, CbtInfo cbt) throws Exception {
        List<String> list = List.of(Nbd.CONTEXT_DIRTY_BITMAP_PREFIX);
        NbdAddress socket = new NbdAddress.Unix(daemon.exports().socket());
        try (NbdClient client = NbdClient.connect(socket, image, queries, list);
                BlockSource in = daemon.exports().opener(image).open(queries, list)) {
            assertEquals(client.size(), in.size(), "size");
            assertEquals(client.export().blockSizes().minimum(), in.minimumBlockSize(), "minimum block size");
            assertEquals(client.export().contexts().keySet(), in.contexts(), "contexts");
            assertEquals(client.export().listed(), in.listed(), "listed");
            Map<String, List<Extent>> overNbd = client.extents(0, client.size());
            Map<String, List<Extent>> inProcess = in.extents();
            assertEquals(overNbd.keySet(), inProcess.keySet());
            for (String c : overNbd.keySet()) {
                List<Extent> a = overNbd.get(c);
                List<Extent> b = inProcess.get(c);
                assertEquals(a.size(), b.size(), c + ": extent count");
                assertEquals(a, b, c);
                assertEquals(SIZE, b.getLast().end(), c + ": covers the image");
            }
            if (queries.get(1).endsWith("-1")) {
                assertTrue(overNbd.get(queries.get(1)).size() > 32768, "the bitmap takes several BLOCK_STATUS replies");
            }
            assertTrue(overNbd.get(Nbd.CONTEXT_BASE_ALLOCATION).size() > 32768,
                    "base:allocation takes several BLOCK_STATUS replies");
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < 200; i++) {
                int len = (1 + r.nextInt(2048)) * 512;
                long off = i == 0 ? SIZE - len : r.nextLong((SIZE - len) / 512 + 1) * 512;
                byte[] x = new byte[len + 100];
                byte[] y = new byte[len + 100];
                client.read(off, ByteBuffer.wrap(x, 50, len)).get();
                in.read(off, ByteBuffer.wrap(y, 50, len)).get();
                assertArrayEquals(x, y, "bytes at " + off + "+" + len);
            }
        }
    }

    @Test
    void readsExtentsAndOpensAfterTheSnapshotIsDestroyedFail() throws Exception {
        var engine = daemon.engine();
        UUID id = engine.create(dir, 1L << 30, List.of(DEV));
        engine.take(id);
        String image = engine.image(DEV).name();
        BlockSource in = daemon.exports().opener(image).open(List.of(Nbd.CONTEXT_BASE_ALLOCATION), List.of());
        engine.destroy(id);
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> in.read(0, ByteBuffer.allocate(4096)).get());
        assertTrue(e.getCause() instanceof IOException, "the image's error: " + e.getCause());
        // extents too, as a BLOCK_STATUS after the export went: a run cancelled then stops even
        // when it has nothing to read
        assertThrows(IOException.class, in::extents);
        in.close();
        assertThrows(IOException.class,
                () -> daemon.exports().opener(image).open(List.of(Nbd.CONTEXT_BASE_ALLOCATION), List.of()));
    }
}
