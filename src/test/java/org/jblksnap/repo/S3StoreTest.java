package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.testutil.S3Gateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The S3 store on the real gateway (scripts/s3-server): what {@link ObjectStore} promises, and a repository in a bucket. */
@Timeout(300)
class S3StoreTest {
    private static final int CS = 4096;
    S3Gateway gw;

    @BeforeEach
    void gateway() {
        gw = S3Gateway.require();
    }

    @AfterEach
    void close() {
        if (gw != null) { // null when the test skipped without a gateway (JBLKSNAP_S3=off)
            gw.close();
        }
    }

    private static ByteBuffer text(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void objectsKeepTheInterfacesPromises() throws IOException {
        try (ObjectStore s = RepositoryLocation.open(gw.newRepo())) {
            s.checkReachable();
            s.prepare();
            s.put("points/2.point", text("two"));
            s.put("packs/ab/x.pack", text("0123456789"));
            s.put("points/10.point", text("ten"));
            assertArrayEquals("two".getBytes(), s.get("points/2.point"));
            assertArrayEquals("345".getBytes(), s.getRange("packs/ab/x.pack", 3, 3));
            assertArrayEquals("89".getBytes(), s.getRange("packs/ab/x.pack", 8, 5), "short at the end");
            assertArrayEquals(new byte[0], s.getRange("packs/ab/x.pack", 20, 5), "past the end");
            byte[] dst = "......".getBytes();
            assertEquals(2, s.getRange("packs/ab/x.pack", 8, dst, 1, 5), "into an array: short at the end");
            assertArrayEquals(".89...".getBytes(), dst);
            assertEquals(List.of("points/10.point", "points/2.point"),
                    s.list("points/").stream().map(ObjectStore.Stored::name).toList(), "names without the prefix, sorted");
            assertEquals(10, s.list("packs/").getFirst().size());
            assertFalse(s.create("points/2.point", text("other")), "a conditional create never replaces");
            assertArrayEquals("two".getBytes(), s.get("points/2.point"));
            assertTrue(s.create("points/3.point", text("three")));
            s.delete("points/3.point");
            s.delete("points/3.point");
            assertThrows(NoSuchFileException.class, () -> s.get("points/3.point"));
            assertThrows(NoSuchFileException.class, () -> s.getRange("points/3.point", 0, 1));
            RepositoryException notEmpty = assertThrows(RepositoryException.class, s::prepare);
            assertTrue(notEmpty.getMessage().contains("not empty"), notEmpty.getMessage());

            ObjectStore.Writer w = s.writer("packs/cd/y.pack");
            w.write(text("hello "));
            w.write(text("world"));
            assertArrayEquals("lo w".getBytes(), w.read(3, 4), "readable while written");
            assertThrows(NoSuchFileException.class, () -> s.get("packs/cd/y.pack"), "not there before finish");
            w.finish();
            assertArrayEquals("hello world".getBytes(), s.get("packs/cd/y.pack"));
            ObjectStore.Writer dropped = s.writer("packs/cd/z.pack");
            dropped.write(text("never"));
            dropped.abandon();
            assertThrows(NoSuchFileException.class, () -> s.get("packs/cd/z.pack"));
        }
    }

    @Test
    void aRepositoryInABucketStoresCommitsAndReadsBack() throws IOException {
        String repo = gw.newRepo();
        byte[] content = new byte[6 << 20];
        new Random(7).nextBytes(content);
        java.util.Arrays.fill(content, 1 << 20, 2 << 20, (byte) 0);
        long id;
        long again;
        try (Repository r = Repository.openOrCreate(repo, RepositoryConfig.of(CS, 256 << 10))) {
            id = Points.commit(r, "vda", content);
            again = Points.commit(r, "vda", content);
            assertEquals(List.of(id, again), r.points().list().stream().map(Point::id).toList(),
                    "the same content again: a second point, listed after the first");
        }
        try (Repository r = Repository.open(repo, false)) {
            assertTrue(r.packs().damagedPacks().isEmpty());
            int packs = r.packs().catalog().packCount();
            assertTrue(packs >= 15 && packs <= 25, "packs of 256 KiB for 5 MiB stored once: " + packs);
            assertArrayEquals(content, Points.read(r, id));
            assertArrayEquals(content, Points.read(r, again));
        }
    }

    @Test
    void locksOfObjectsConflictLikeTheLockFile() throws IOException {
        String repo = gw.newRepo();
        Repository.create(RepositoryLocation.open(repo), RepositoryConfig.of(CS));
        try (Repository a = Repository.open(repo, false); Repository b = Repository.open(repo, false)) {
            RepositoryException e = assertThrows(RepositoryException.class, () -> Repository.open(repo, true));
            assertTrue(e.getMessage().contains("in use by another process"), e.getMessage());
            try (Repository prune = Repository.openForPrune(repo, Unlock.NONE)) {
                assertEquals(ObjectStore.LockMode.PRUNE, prune.mode(), "a prune runs beside shared holders");
                e = assertThrows(RepositoryException.class, () -> Repository.openForPrune(repo, Unlock.NONE));
                assertTrue(e.getMessage().contains("that prunes it"), "prunes never overlap: " + e.getMessage());
            }
        }
        try (Repository alone = Repository.open(repo, true)) {
            RepositoryException e = assertThrows(RepositoryException.class, () -> Repository.open(repo, false));
            assertTrue(e.getMessage().contains("holds it exclusively"), e.getMessage());
            e = assertThrows(RepositoryException.class, () -> Repository.openForPrune(repo, Unlock.NONE));
            assertTrue(e.getMessage().contains("holds it exclusively"), e.getMessage());
        }
        try (ObjectStore s = RepositoryLocation.open(repo)) {
            assertTrue(s.list(ObjectLocks.PREFIX).isEmpty(), "every lock object is removed at close");
        }
    }

    @Test
    void badLocationsAreOneLineErrors() throws IOException {
        String missing = "s3:" + gw.endpoint() + "/no-such-bucket-here";
        RepositoryException e = assertThrows(RepositoryException.class, () -> Repository.open(missing, false));
        assertEquals(missing + ": cannot reach the bucket: bucket no-such-bucket-here does not exist", e.getMessage());
        int port;
        try (ServerSocket closed = new ServerSocket(0)) {
            port = closed.getLocalPort();
        }
        String refused = "s3:http://127.0.0.1:" + port + "/bucket";
        e = assertThrows(RepositoryException.class, () -> Repository.open(refused, false));
        assertTrue(e.getMessage().startsWith(refused + ": cannot reach the bucket: cannot connect to http://127.0.0.1:"
                + port), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        // an endpoint that takes each request and resets the connection (a gateway going away)
        try (ServerSocket resetting = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                while (!resetting.isClosed()) {
                    try (java.net.Socket c = resetting.accept()) {
                        c.getInputStream().read(new byte[1024]);
                        c.setSoLinger(true, 0);
                    } catch (IOException closed) {
                        // the test is over, or the client went first
                    }
                }
            });
            String reset = "s3:http://127.0.0.1:" + resetting.getLocalPort() + "/bucket";
            e = assertThrows(RepositoryException.class, () -> Repository.open(reset, false));
            assertTrue(e.getMessage().startsWith(reset + ": cannot reach the bucket: lost the connection to http://127.0.0.1:"
                    + resetting.getLocalPort()), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
        for (String bad : List.of("s3:ftp://host/bucket", "s3:http:///bucket", "s3:http://host", "s3:http://host/",
                "s3:http://host/B_ad", "s3:http://h ost/bucket")) {
            InvalidArgumentException x = assertThrows(InvalidArgumentException.class, () -> RepositoryLocation.open(bad),
                    bad);
            assertTrue(x.getMessage().startsWith("malformed repository URL '" + bad + "'"), x.getMessage());
        }
    }
}
