package org.jblksnap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.jblksnap.daemon.JblksnapProcess;
import org.jblksnap.repo.EntryType;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.Points;
import org.jblksnap.repo.Repository;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.S3Gateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import software.amazon.awssdk.core.sync.RequestBody;

/**
 * The backup verbs through the real `jblksnap` command with the repository in a bucket of the
 * real S3 gateway (scripts/s3-server): what is restored is the device byte for byte, a pack
 * altered in the bucket is named by verify and refused by restore, and every bad location is
 * one line on stderr, a non-zero exit and nothing written.
 */
@Timeout(900)
class S3CliTest {
    private static final int MIB = 1 << 20;
    private static final long SIZE = 32L * MIB;
    private static final int CBT_BLOCK = 64 << 10;

    @TempDir
    Path dir;
    S3Gateway gw;
    JblksnapProcess jb;
    Path disk;
    String repo;
    NbdWrites writes;

    @BeforeEach
    void start() throws Exception {
        gw = S3Gateway.require();
        repo = gw.newRepo();
        // a take that finds the file "hold" waits for "go": a backup held after it opened the repository
        Path config = Files.writeString(dir.resolve("daemon.json"), "{\"take_hooks\": {\"pre_take\": \"[ -e " + dir
                + "/hold ] || exit 0; touch " + dir + "/held; while [ ! -e " + dir + "/go ]; do sleep 0.05; done\","
                + " \"timeout_seconds\": 300}}");
        DaemonDisk d = DaemonDisk.start(dir, dir.resolve("run"), "disk0", SIZE, 1, "--param", "chunk_minimum_shift=16",
                "--config", config.toString());
        jb = d.jb();
        disk = d.disk();
        writes = d.writes();
    }

    @AfterEach
    void stop() throws Exception {
        if (jb != null) {
            jb.close();
        }
        if (gw != null) { // null when the test skipped without a gateway (JBLKSNAP_S3=off)
            gw.close();
        }
    }

    private ChildProcess.Result backup() throws Exception {
        ChildProcess.Result r = jb.ok("backup", "--encryption", "none", "-d", "disk0", "--repo", repo, "--storage", dir.toString());
        assertEquals("\n", jb.ok("snapshot_collect").out(), "the backup's snapshot is destroyed");
        return r;
    }

    private void assertRestores(String point, Path expected) throws Exception {
        Path out = dir.resolve("restored-" + point + ".img");
        jb.okAlone("restore", "--repo", repo, "--point", point, "-d", "disk0", "--to", out.toString());
        assertEquals(-1, Files.mismatch(expected, out), "point " + point + " restores to the device at its take");
        Files.delete(out);
    }

    @Test
    void backupAndRestoreThroughS3AndAnAlteredPackIsNamed() throws Exception {
        ChildProcess.Result full = backup();
        assertEquals("full", full.get("mode"));
        String first = full.get("point");
        Path ref1 = Files.copy(disk, dir.resolve("ref-1.img"));
        writes.randomWrites(0.02, CBT_BLOCK);
        ChildProcess.Result inc = backup();
        String second = inc.get("point");
        assertTrue(inc.get("mode").startsWith("incremental to point " + first), inc.out());
        Path ref2 = Files.copy(disk, dir.resolve("ref-2.img"));
        assertRestores(first, ref1);
        assertRestores(second, ref2);
        assertEquals("ok", jb.okAlone("verify", "--repo", repo).get("result"));
        assertTrue(jb.points("--repo", repo).contains(second));

        Hash damaged;
        Points.Place at;
        try (Repository r = Repository.open(repo, false)) {
            List<Hash> only2 = Points.chunks(r, Long.parseLong(second));
            only2 = only2.stream().filter(h -> {
                try {
                    return !Points.chunks(r, Long.parseLong(first)).contains(h);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
            damaged = only2.getFirst();
            at = Points.placeOf(r, EntryType.CHUNK, damaged);
        }
        String bucket = S3Gateway.bucketOf(repo);
        String key = "repo/" + at.pack();
        byte[] pack = gw.client().getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray();
        pack[(int) (at.offset() + at.length() / 2)] ^= 0x10;
        gw.client().putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(pack));

        ChildProcess.Result v = jb.runAlone("verify", "--repo", repo);
        assertEquals(1, v.exit(), v.err());
        assertEquals("damaged", v.get("result"));
        assertTrue(v.get("problem").startsWith("chunk " + damaged.hex()) && v.get("problem").contains(at.shown())
                && v.get("problem").endsWith("(used by point " + second + ")"), v.out());
        ChildProcess.Result restore = jb.runAlone("restore", "--repo", repo, "--point", second, "--to",
                dir.resolve("bad.img").toString());
        assertNotEquals(0, restore.exit());
        assertOneLine(restore, damaged.hex());
        assertRestores(first, ref1);
    }

    /**
     * The gateway itself (radosgw) is killed while a backup runs, after the backup opened the
     * repository (held in its take hook until then): the backup fails with one line, commits
     * nothing and leaves no snapshot; with the gateway back, the repository verifies and the next
     * backup works.
     */
    @Test
    void theGatewayKilledMidBackupIsAClearErrorAndTheNextBackupWorks() throws Exception {
        backup();
        writes.randomWrites(0.3, CBT_BLOCK);
        Files.createFile(dir.resolve("hold"));
        Path log = dir.resolve("backup.log");
        Process run = jb.start(log, "backup", "--encryption", "none", "-d", "disk0", "--repo", repo, "--storage",
                dir.toString(), "--run-dir", jb.runDir().toString());
        ChildProcess.Result r;
        try {
            Await.until(Duration.ofSeconds(60), () -> Files.exists(dir.resolve("held")),
                    () -> "the backup did not take its snapshot: " + Files.readString(log));
            gw.killGateway();
            Files.createFile(dir.resolve("go"));
            assertTrue(run.waitFor(120, TimeUnit.SECONDS), "the backup ends: " + Files.readString(log));
        } finally {
            gw.restartGateway();
            ChildProcess.kill(run);
        }
        String out = Files.readString(log);
        assertNotEquals(0, run.exitValue(), "the gateway went away mid-backup: " + out);
        List<String> errors = out.lines().filter(l -> l.startsWith("jblksnap: ")).toList();
        assertEquals(1, errors.size(), out);
        String e = errors.getFirst();
        String endpoint = gw.endpoint();
        assertTrue(e.contains("cannot connect to " + endpoint) || e.contains("lost the connection to " + endpoint),
                "one line naming the gateway: " + out);
        assertEquals("\n", jb.ok("snapshot_collect").out(), "the backup's snapshot is destroyed");
        assertEquals("ok", jb.okAlone("verify", "--repo", repo).get("result"), "what the cut run left is unused, not damaged");
        assertEquals(1, jb.points("--repo", repo).size(), "the cut run committed nothing");
        backup();
        assertRestores("latest", Files.copy(disk, dir.resolve("ref.img")));
        assertEquals("ok", jb.okAlone("verify", "--repo", repo).get("result"));
    }

    /**
     * kill -9 of the daemon while it runs a backup into the bucket, at seeded moments from the
     * snapshot's creation on (reading, uploading the pack, committing): the points committed
     * before stay whole, verify is clean (what the killed run left is unused), the run commits
     * at most its one point and any point it reported, and after a restart the next backup works
     * and restores.
     */
    @Test
    void aDaemonKilledMidUploadLeavesTheBucketCleanAndTheNextBackupWorks() throws Exception {
        backup();
        Random moments = new Random(42);
        for (int round = 0; round < 2; round++) {
            writes.randomWrites(0.5, CBT_BLOCK);
            long before = jb.okAlone("points", "--repo", repo).out().lines().filter(l -> l.startsWith("point=")).count();
            Path log = dir.resolve("killed-" + round + ".log");
            Process client = jb.start(log, "backup", "--encryption", "none", "-d", "disk0", "--repo", repo, "--storage", dir.toString(),
                    "--run-dir", jb.runDir().toString());
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.readString(log).contains("backup of disk0 from ")) { // the daemon started reading
                assertTrue(System.nanoTime() < deadline && client.isAlive(), "the backup never started reading: "
                        + Files.readString(log));
                Thread.sleep(5);
            }
            Thread.sleep(moments.nextInt(600));
            jb.killDaemon();
            client.waitFor();
            // a kill after the commit leaves the point (the client may still have seen it); before, none
            boolean finished = Files.readString(log).contains("backup of disk0: point ");
            System.out.println("round " + round + ": the daemon was killed " + (finished ? "after" : "before")
                    + " the run's commit");
            if (!finished) {
                assertNotEquals(0, client.exitValue(), "a run cut off is an error: " + Files.readString(log));
                assertTrue(Files.readString(log).lines().anyMatch(l -> l.startsWith("jblksnap: ")),
                        "one clear line: " + Files.readString(log));
            }
            jb.startDaemon("--device", "disk0=" + disk, "--param", "chunk_minimum_shift=16");
            assertEquals("ok", jb.okAlone("verify", "--repo", repo).get("result"), "round " + round);
            long after = jb.okAlone("points", "--repo", repo).out().lines().filter(l -> l.startsWith("point=")).count();
            // a point the run reported is there; one committed right before the kill may go unreported
            assertTrue(finished ? after == before + 1 : after == before || after == before + 1, "the killed run "
                    + "committed at most its one point, and any it reported: " + before + " -> " + after + "; "
                    + Files.readString(log));
            ChildProcess.Result next = backup();
            assertEquals("full", next.get("mode"), "a killed daemon starts a new CBT generation");
            assertRestores("latest", Files.copy(disk, dir.resolve("ref-killed-" + round + ".img")));
        }
    }

    /**
     * Credentials from the AWS profile files (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE), with no
     * AWS_ACCESS_KEY_ID in the environment: the profile's keys reach the bucket, and a profile
     * with a wrong secret is refused with one line.
     */
    @Test
    void credentialsComeFromTheAwsProfileFiles() throws Exception {
        Path credentials = dir.resolve("credentials");
        Files.writeString(credentials, "[jbtest]\naws_access_key_id = " + System.getenv("AWS_ACCESS_KEY_ID")
                + "\naws_secret_access_key = " + System.getenv("AWS_SECRET_ACCESS_KEY")
                + "\n[wrong]\naws_access_key_id = " + System.getenv("AWS_ACCESS_KEY_ID")
                + "\naws_secret_access_key = not-the-secret\n");
        Path config = Files.writeString(dir.resolve("config"), "");
        for (String profile : new String[] {"jbtest", "wrong"}) {
            ChildProcess.Result r = ChildProcess.java(Main.class, "init", "--repo", repo, "--encryption", "none")
                    .unsetEnv("AWS_ACCESS_KEY_ID").unsetEnv("AWS_SECRET_ACCESS_KEY").unsetEnv("AWS_SESSION_TOKEN")
                    .env("AWS_SHARED_CREDENTIALS_FILE", credentials.toString()).env("AWS_CONFIG_FILE", config.toString())
                    .env("AWS_PROFILE", profile).run();
            if (profile.equals("wrong")) {
                expect(r, "access denied (");
            } else {
                assertEquals(0, r.exit(), r.err());
            }
        }
        jb.okAlone("points", "--repo", repo); // the repository the profile's keys made
    }

    @Test
    void badLocationsAreOneLineAndWriteNothing() throws Exception {
        String bucket = S3Gateway.bucketOf(repo);
        String missing = "s3:" + gw.endpoint() + "/no-such-bucket-" + bucket;
        expect(jb.run("backup", "-d", "disk0", "--repo", missing, "--storage", dir.toString()),
                "bucket no-such-bucket-" + bucket + " does not exist");
        expect(jb.runAlone("points", "--repo", missing), "does not exist");

        ChildProcess.Result wrongKey = ChildProcess.java(Main.class, "backup", "-d", "disk0", "--repo", repo,
                "--storage", dir.toString(), "--run-dir", jb.runDir().toString())
                .env("AWS_SECRET_ACCESS_KEY", "not-the-secret").run();
        expect(wrongKey, "access denied (");
        expect(ChildProcess.java(Main.class, "verify", "--repo", repo).env("AWS_ACCESS_KEY_ID", "NOSUCHKEY").run(),
                "access denied (");

        int port;
        try (ServerSocket closed = new ServerSocket(0)) {
            port = closed.getLocalPort();
        }
        expect(jb.run("backup", "-d", "disk0", "--repo", "s3:http://127.0.0.1:" + port + "/" + bucket, "--storage",
                dir.toString()), "cannot connect to http://127.0.0.1:" + port);
        expect(jb.runAlone("verify", "--repo", "s3:http://127.0.0.1/Bad_Bucket"), "malformed repository URL");
        expect(jb.runAlone("restore", "--repo", "s3:http://", "--point", "1", "--to", dir.resolve("x").toString()),
                "malformed repository URL");

        assertEquals(List.of(), gw.objects(bucket), "nothing was written to the bucket");
        assertEquals("\n", jb.ok("snapshot_collect").out(), "no snapshot left behind");
        assertTrue(Files.notExists(dir.resolve("x")));
    }

    /** A failure whose stderr is one line naming text (also CopyCliTest's). */
    static void expect(ChildProcess.Result r, String text) {
        assertNotEquals(0, r.exit(), () -> r.command() + " succeeded");
        assertOneLine(r, text);
    }

    private static void assertOneLine(ChildProcess.Result r, String text) {
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), () -> "one line on stderr, got: " + r.err());
        assertTrue(lines.getFirst().startsWith("jblksnap: ") && lines.getFirst().contains(text),
                () -> "expected '" + text + "' in: " + lines.getFirst());
    }
}
