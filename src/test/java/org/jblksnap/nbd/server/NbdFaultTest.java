package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.jblksnap.error.Errno;
import org.jblksnap.fuse.FaultyFs;
import org.jblksnap.fuse.FaultyFs.Op;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.testutil.SectorPattern;
import org.jblksnap.testutil.TestDevices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.EnumSource.Mode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NBD server over a device on a file system that fails on demand ({@link FaultyFs}), as
 * NBD clients see it: a lost write-back fails FLUSH and FUA for every connection until the
 * device is attached again, and a device write that fails loses no write acknowledged before
 * or after it. Each fault is EIO (a failing disk) or ENOSPC (a full thin-provisioned one).
 */
@Timeout(120)
class NbdFaultTest {
    private static final int CHUNK = 64 << 10;
    private static final long SIZE = 16L * CHUNK;
    private static final Params PARAMS = TestDevices.params(Map.of("chunk_minimum_shift", "16",
            "diff_storage_minimum", "256"));

    @TempDir
    Path dir;
    private FaultyFs fs;
    private SnapshotManager engine;
    private NbdServer server;
    private Path socket;

    @BeforeEach
    void start() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "the faulty file system is a FUSE mount: needs root");
        fs = FaultyFs.mount(dir.resolve("backing"), dir.resolve("mnt"));
        TestDevices.patternFile(dir.resolve("backing"), "d.img", SIZE);
        engine = new SnapshotManager(PARAMS);
        engine.attach("d", fs.path("d.img"));
        server = new NbdServer(engine);
        socket = dir.resolve("nbd.sock");
        server.listenUnix(socket);
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (fs != null) {
            fs.close();
        }
    }

    private RawClient client() throws IOException {
        RawClient c = new RawClient(socket);
        c.open("d", false);
        return c;
    }

    /** Sends one request and returns its reply's error (simple replies, no data). */
    private static int call(RawClient c, int flags, int type, long cookie, long offset, ByteBuffer payload) throws IOException {
        c.request(flags, type, cookie, offset, payload == null ? 0 : payload.remaining(), payload);
        RawClient.Reply r = c.simpleReply(0);
        assertEquals(cookie, r.cookie());
        return r.error();
    }

    private static int nbdError(Errno e) {
        return e == Errno.ENOSPC ? org.jblksnap.nbd.protocol.Nbd.ENOSPC : org.jblksnap.nbd.protocol.Nbd.EIO;
    }

    /**
     * Invariant 1 over NBD (the "fsyncgate" lesson): the daemon shares one open file among all
     * clients, and Linux reports a lost write-back once per open file; so after one failed
     * fsync, FLUSH and FUA fail on every connection, new ones included, although the file
     * system would now report success, and the file system is not even asked again.
     */
    @ParameterizedTest
    @EnumSource(value = Errno.class, names = {"EIO", "ENOSPC"}, mode = Mode.INCLUDE)
    void aFailedFlushFailsFlushAndFuaOnEveryConnection(Errno errno) throws Exception {
        try (RawClient a = client(); RawClient b = client()) {
            assertEquals(0, call(a, 0, org.jblksnap.nbd.protocol.Nbd.CMD_WRITE, 1, 0, SectorPattern.sectors(0, 8, 3, 1)));
            assertEquals(0, call(b, 0, org.jblksnap.nbd.protocol.Nbd.CMD_FLUSH, 2, 0, null), "flushes before the fault work");
            int before = fs.calls("d.img", Op.FSYNC);
            FaultyFs.Fault lost = fs.fail("d.img", Op.FSYNC, 0, 1, errno);

            assertEquals(0, call(b, 0, org.jblksnap.nbd.protocol.Nbd.CMD_WRITE, 3, 4096, SectorPattern.sectors(8, 8, 3, 2)));
            assertNotEquals(0, call(a, 0, org.jblksnap.nbd.protocol.Nbd.CMD_FLUSH, 4, 0, null), "the failed flush");
            assertEquals(1, lost.struck());

            assertNotEquals(0, call(b, 0, org.jblksnap.nbd.protocol.Nbd.CMD_FLUSH, 5, 0, null),
                    "the other connection's flush fails too");
            assertNotEquals(0, call(b, org.jblksnap.nbd.protocol.Nbd.CMD_FLAG_FUA, org.jblksnap.nbd.protocol.Nbd.CMD_WRITE, 6,
                    8192, SectorPattern.sectors(16, 8, 3, 3)), "a FUA write is not durable either");
            try (RawClient c = client()) {
                assertNotEquals(0, call(c, 0, org.jblksnap.nbd.protocol.Nbd.CMD_FLUSH, 7, 0, null),
                        "a connection made after the failure fails too");
            }
            assertEquals(before + 1, fs.calls("d.img", Op.FSYNC), "no later flush asked the file system again");
            assertEquals(0, call(a, 0, org.jblksnap.nbd.protocol.Nbd.CMD_READ, 8, 0, null) , "reads go on");
        }
        // Detach and attach again: a fresh start.
        fs.clear();
        try {
            engine.detach("d");
        } catch (IOException e) {
            assertTrue(e.getMessage().contains("is detached"), e.getMessage());
        }
        engine.attach("d", fs.path("d.img"));
        try (RawClient a = client()) {
            assertEquals(0, call(a, 0, org.jblksnap.nbd.protocol.Nbd.CMD_FLUSH, 9, 0, null), "after attaching again");
        }
    }

    /**
     * Invariant 1 (no acknowledged write is lost) when a device write fails at the k-th call:
     * that WRITE gets the error, every WRITE acknowledged before and after it is on the device,
     * and the snapshot taken before them still shows the device as it was at take.
     */
    @ParameterizedTest
    @EnumSource(value = Errno.class, names = {"EIO", "ENOSPC"}, mode = Mode.INCLUDE)
    void aFailedDeviceWriteLosesNoAcknowledgedWrite(Errno errno) throws Exception {
        byte[] atTake = Files.readAllBytes(fs.backingPath("d.img"));
        UUID id = engine.create(Files.createDirectory(dir.resolve("store")), 64L << 20, List.of("d"));
        engine.take(id);
        int writes = 40;
        int sectors = 8;
        // Writes land on sectors 0, 24, 48, ...: every third 4 KiB block, across all chunks.
        FaultyFs.Fault broken = fs.fail("d.img", Op.WRITE, 17, 1, errno);
        List<Integer> acked = new ArrayList<>();
        int failed = -1;
        try (RawClient c = client()) {
            for (int i = 0; i < writes; i++) {
                long sector = (long) i * 3 * sectors;
                int e = call(c, 0, org.jblksnap.nbd.protocol.Nbd.CMD_WRITE, 100 + i, sector * 512,
                        SectorPattern.sectors(sector, sectors, 4, i));
                if (e == 0) {
                    acked.add(i);
                } else {
                    assertEquals(nbdError(errno), e, "the write's error is the file system's");
                    failed = i;
                }
            }
            assertEquals(0, call(c, 0, org.jblksnap.nbd.protocol.Nbd.CMD_FLUSH, 1, 0, null), "a failed write is no failed flush");
        }
        assertEquals(1, broken.struck());
        assertTrue(failed >= 0, "one write failed");
        assertEquals(writes - 1, acked.size(), "only that one");
        ByteBuffer now = ByteBuffer.wrap(Files.readAllBytes(fs.backingPath("d.img")));
        for (int i : acked) {
            long sector = (long) i * 3 * sectors;
            for (int s = 0; s < sectors; s++) {
                SectorPattern.expect(now, (int) (sector + s), sector + s, 4, i);
            }
        }
        SnapshotImage image = engine.image("d");
        assertEquals(0, engine.info("d").errorCode(), "the snapshot is intact: the failure was the device's");
        assertArrayEquals(atTake, TestDevices.readAll(image), "the image is the device at take");
        fs.clear();
        engine.destroy(id);
        assertTrue(Arrays.equals(now.array(), Files.readAllBytes(fs.backingPath("d.img"))), "destroy changes no device byte");
    }
}
