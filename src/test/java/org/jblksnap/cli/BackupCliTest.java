package org.jblksnap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jblksnap.repo.EntryType;
import org.jblksnap.repo.Hash;
import org.jblksnap.repo.Points;
import org.jblksnap.repo.Repository;
import org.jblksnap.daemon.JblksnapProcess;
import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The backup verbs through the real `jblksnap` command against a running daemon: writes go
 * through the daemon's NBD export (qemu-io), the device's content is captured right after
 * each backup while no writer runs, and every point must restore to exactly that.
 */
@Timeout(600)
class BackupCliTest {
    private static final int MIB = 1 << 20;
    private static final long SIZE = 64L * MIB;
    private static final int CBT_BLOCK = 64 << 10;

    @TempDir
    Path dir;
    JblksnapProcess jb;
    Path disk;
    Path repo;
    NbdWrites writes;

    @BeforeEach
    void start() throws Exception {
        repo = dir.resolve("repo");
        DaemonDisk d = DaemonDisk.start(dir, dir.resolve("run"), "disk0", SIZE, 1, "--param", "chunk_minimum_shift=16");
        jb = d.jb();
        disk = d.disk();
        writes = d.writes();
    }

    private void startDaemon() throws Exception {
        jb.startDaemon("--device", "disk0=" + disk, "--param", "chunk_minimum_shift=16");
    }

    @AfterEach
    void stop() throws Exception {
        jb.close();
    }

    /** A backup that must succeed; afterwards the daemon has no snapshot left. */
    private ChildProcess.Result backup(String... options) throws Exception {
        List<String> args = new ArrayList<>(List.of("backup", "--encryption", "none", "-d", "disk0", "--repo", repo.toString(), "--storage",
                dir.toString()));
        args.addAll(List.of(options));
        ChildProcess.Result r = jb.ok(args.toArray(String[]::new));
        assertNoSnapshot();
        return r;
    }

    private void assertNoSnapshot() throws Exception {
        assertEquals("\n", jb.ok("snapshot_collect").out(), "the backup's snapshot is destroyed");
    }

    /** The device's content now (call while no writer runs). */
    private Path capture(String name) throws IOException {
        return Files.copy(disk, dir.resolve(name));
    }

    private void assertRestores(String point, Path expected) throws Exception {
        Path out = dir.resolve("restored-" + point + ".img");
        jb.okAlone("restore", "--repo", repo.toString(), "--point", point, "-d", "disk0", "--to", out.toString());
        assertEquals(-1, Files.mismatch(expected, out), "point " + point + " restores to the device at its take");
        Files.delete(out);
    }

    /** Bytes in blocks of blockSize that are all zeroes (holes of the device file, here). */
    private static long zeroBlockBytes(Path file, int blockSize) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long zero = 0;
        for (int at = 0; at < bytes.length; at += blockSize) {
            int end = Math.min(bytes.length, at + blockSize);
            if (Arrays.mismatch(bytes, at, end, new byte[end - at], 0, end - at) < 0) {
                zero += end - at;
            }
        }
        return zero;
    }

    private static long value(ChildProcess.Result r, String key) {
        return Long.parseLong(r.get(key));
    }

    @Test
    void incrementalsReadWhatTheCbtReportsAndEveryPointRestoresExactly() throws Exception {
        ChildProcess.Result full = backup();
        assertEquals("full", full.get("mode"));
        assertTrue(full.err().contains("first backup of disk0: reading everything"), full.err());
        List<Path> refs = new ArrayList<>(List.of(capture("ref-1.img")));
        List<String> ids = new ArrayList<>(List.of(full.get("point")));
        assertEquals(SIZE - zeroBlockBytes(refs.get(0), 64 << 10), value(full, "read_bytes"),
                "everything is read but the chunks the image reports as holes");
        long lastReported = 0;

        for (int k = 2; k <= 4; k++) {
            BitSet touched = writes.randomWrites(0.01, CBT_BLOCK);
            ChildProcess.Result inc = backup();
            refs.add(capture("ref-" + k + ".img"));
            assertFalse(ids.contains(inc.get("point")), "a new point: " + inc.out());
            assertTrue(inc.get("mode").startsWith("incremental to point " + ids.getLast()), inc.out());
            ids.add(inc.get("point"));
            long reported = value(inc, "dirty_bytes");
            lastReported = reported;
            long read = value(inc, "read_bytes");
            assertEquals((long) touched.cardinality() * CBT_BLOCK, reported,
                    "the CBT reports exactly the 64 KiB blocks written: " + inc.out());
            assertTrue(read <= reported * 1.1, "read " + read + " for " + reported + " reported");
            assertTrue(read < SIZE / 4, "an incremental reads far less than the device: " + inc.out());
            assertEquals(touched.cardinality(), value(inc, "changed_chunks"), "each chunk written changed: " + inc.out());
            assertTrue(value(inc, "new_chunks") <= touched.cardinality(), inc.out());
            assertTrue(value(inc, "stored_bytes") < value(full, "stored_bytes") / 3,
                    "an incremental stores the chunks written, not the blocks they are in: " + inc.out());
        }
        for (int k = 1; k <= refs.size(); k++) {
            assertRestores(ids.get(k - 1), refs.get(k - 1));
        }
        assertEquals(ids, jb.points("--repo", repo.toString()), "the four points, oldest first");
        JsonNode points = new ObjectMapper().readTree(jb.okAlone("points", "--repo", repo.toString(), "-j").out());
        assertTrue(points.get(0).path("parent").isNull() && points.get(0).path("dirty_bytes").isNull(), points.toString());
        assertEquals(ids.get(3), points.get(3).path("point").asText(), points.toString());
        assertEquals(Long.parseLong(ids.get(2)), points.get(3).path("parent").asLong(), points.toString());
        assertEquals(lastReported, points.get(3).path("dirty_bytes").asLong(), points.toString());
        assertEquals("ok", jb.okAlone("verify", "--repo", repo.toString()).get("result"));
    }

    @Test
    void afterADaemonCrashTheGenerationChangedAndTheBackupReadsEverything() throws Exception {
        backup("--chunk-size", "256K");
        writes.randomWrites(0.01, CBT_BLOCK);
        jb.killDaemon();
        startDaemon();
        ChildProcess.Result r = backup();
        Path ref = capture("ref.img");
        assertEquals("full", r.get("mode"));
        assertTrue(r.err().contains("CBT generation changed") && r.err().contains("reading everything"), r.err());
        assertEquals(SIZE - zeroBlockBytes(ref, 256 << 10), value(r, "read_bytes"),
                "everything is read but the blocks the image reports as holes");
        assertFalse(r.values().containsKey("dirty_bytes"), r.out());
        assertRestores("latest", ref);

        writes.randomWrites(0.001, CBT_BLOCK);
        ChildProcess.Result next = backup("--chunk-size", "1M");
        assertTrue(next.get("mode").startsWith("incremental to point " + r.get("point")), next.out());
        assertTrue(value(next, "read_bytes") <= value(next, "dirty_bytes"), next.out());
        assertEquals(256 << 10, new ObjectMapper().readTree(repo.resolve("repository.json").toFile()).path("chunkSize")
                .asInt(), "the repository keeps the chunk size it was made with");
        assertRestores("latest", capture("ref-next.img"));
    }

    @Test
    void aServedPointReadsAsTheDeviceAtItsTake() throws Exception {
        String point = backup().get("point");
        Path ref = capture("ref.img");
        writes.randomWrites(0.01, CBT_BLOCK);
        Path socket = dir.resolve("serve.sock");
        Path log = dir.resolve("serve.log");
        Process serve = jb.start(log, "serve", "--repo", repo.toString(), "--point", point, "--socket",
                socket.toString());
        try {
            Await.until(Duration.ofSeconds(30), () -> Files.exists(log) && Files.readString(log).contains("uri="),
                    () -> "serve printed no uri=: " + (Files.exists(log) ? Files.readString(log) : "(no output)"));
            Path out = dir.resolve("served.img");
            ChildProcess.of("qemu-img", "convert", "-f", "raw", "-O", "raw",
                    "nbd+unix:///disk0@point-" + point + "?socket=" + socket, out.toString()).check();
            assertEquals(-1, Files.mismatch(ref, out), "qemu-img reads the point as the device was");
            assertNotEquals(-1, Files.mismatch(disk, out), "and not as it is now");
        } finally {
            serve.destroy();
            assertTrue(serve.waitFor(30, TimeUnit.SECONDS), "serve stops on SIGTERM");
        }
    }

    @Test
    void pruneKeepsTheLatestAndVerifyCatchesADamagedBlock() throws Exception {
        String first = backup().get("point");
        writes.randomWrites(0.01, CBT_BLOCK);
        String second = backup().get("point");
        writes.randomWrites(0.01, CBT_BLOCK);
        String third = backup().get("point");
        Path ref = capture("ref.img");

        // restic's rules: the daily rule keeps the third (the newest of its day) and the last rule the
        // third and the second, wherever midnight falls between them; prune names the removed points,
        // then the kept ones, each oldest first
        ChildProcess.Result daily = jb.okAlone("prune", "--repo", repo.toString(), "--keep-daily", "1", "--keep-last", "2");
        assertEquals(List.of("removed_point=" + first, "kept_point=" + second, "kept_point=" + third),
                daily.out().lines().filter(l -> l.contains("_point=")).toList());
        ChildProcess.Result p = jb.okAlone("prune", "--repo", repo.toString(), "--keep", "1");
        assertEquals(List.of("removed_point=" + second, "kept_point=" + third),
                p.out().lines().filter(l -> l.contains("_point=")).toList());
        assertTrue(value(daily, "removed_entries") + value(p, "removed_entries") > 0
                && value(daily, "freed_bytes") + value(p, "freed_bytes") > 0, daily.out() + p.out());
        assertEquals(List.of(third), jb.points("--repo", repo.toString()));
        ChildProcess.Result verified = jb.okAlone("verify", "--repo", repo.toString());
        assertEquals("ok", verified.get("result"));
        assertEquals(p.get("unused_entries"), verified.get("unused_entries"), "prune says what it left unused");
        assertRestores(third, ref);

        Hash damaged;
        Path pack;
        try (Repository r = Repository.open(repo, false)) {
            damaged = Points.chunks(r, Long.parseLong(third)).get(0);
            pack = Points.packOf(r, EntryType.CHUNK, damaged);
            Points.damage(r, EntryType.CHUNK, damaged);
        }
        ChildProcess.Result v = jb.runAlone("verify", "--repo", repo.toString());
        assertEquals(1, v.exit(), v.err());
        assertEquals("damaged", v.get("result"));
        assertTrue(v.get("problem").startsWith("chunk " + damaged.hex()) && v.get("problem").contains(pack.toString()),
                v.out());
        // A failed restore leaves the old target as it was: the point is written under a
        // temporary name, renamed over the target only at the end.
        Path old = Files.writeString(dir.resolve("bad.img"), "the old image");
        ChildProcess.Result restore = jb.runAlone("restore", "--repo", repo.toString(), "--point", third, "--to",
                old.toString());
        assertNotEquals(0, restore.exit());
        assertOneLine(restore, damaged.hex());
        assertEquals("the old image", Files.readString(old));

        // The device the daemon has attached is refused as a target, and stays as it was.
        Path before = Files.copy(disk, dir.resolve("disk0-before.img"));
        ChildProcess.Result onAttached = jb.run("restore", "--repo", repo.toString(), "--point", third, "--to",
                disk.toString());
        assertNotEquals(0, onAttached.exit());
        assertOneLine(onAttached, "it is attached to the jblksnap daemon as disk0");
        assertEquals(-1, Files.mismatch(before, disk));
        try (var left = Files.list(dir)) {
            assertEquals(List.of(), left.filter(f -> f.getFileName().toString().contains(".restore-")).toList(),
                    "no temporary file is left");
        }
    }

    @Test
    void theSnapshotIsDestroyedWhenTheBackupFails() throws Exception {
        Path notADir = Files.writeString(dir.resolve("file"), "x");
        ChildProcess.Result r = jb.run("backup", "--encryption", "none", "-d", "disk0", "--repo", notADir.resolve("repo").toString(),
                "--storage", dir.toString());
        assertNotEquals(0, r.exit());
        assertOneLine(r, "cannot create a repository in " + notADir.resolve("repo") + ": not a directory");
        assertNoSnapshot();

        String first = backup().get("point");
        writes.randomWrites(0.01, CBT_BLOCK);
        Path packs = repo.resolve("packs");
        Path aside = dir.resolve("packs-aside");
        Files.move(packs, aside);
        Files.writeString(packs, "not a directory");
        ChildProcess.Result failed = jb.run("backup", "-d", "disk0", "--repo", repo.toString(), "--storage", dir.toString());
        assertNotEquals(0, failed.exit(), failed.out());
        assertTrue(failed.err().lines().anyMatch(l -> l.startsWith("jblksnap: ") && l.contains(packs.toString())),
                failed.err());
        assertNoSnapshot();

        Files.delete(packs);
        Files.move(aside, packs);
        ChildProcess.Result after = backup();
        assertTrue(after.get("mode").startsWith("incremental to point " + first),
                "the failed run committed nothing: " + after.out());
        assertRestores("latest", capture("ref.img"));
    }

    /**
     * The daemon runs the backup; Ctrl-C (SIGTERM here, the same shutdown path) on the client
     * cancels it there: the snapshot destroyed, no point committed, and the next backup works.
     * A pre-take hook that waits for a file holds the run where the client is interrupted,
     * until the daemon has cancelled it.
     */
    @Test
    void anInterruptedBackupIsCancelledInTheDaemon() throws Exception {
        jb.stopDaemon();
        Path go = dir.resolve("go");
        Path config = Files.writeString(dir.resolve("slow-take.json"), """
                {"take_hooks": {"pre_take": "while [ ! -e %s ]; do sleep 0.1; done"}}""".formatted(go));
        jb.startDaemon("--device", "disk0=" + disk, "--param", "chunk_minimum_shift=16", "--config", config.toString());
        Path log = dir.resolve("interrupted.log");
        Process client = jb.start(log, "backup", "--encryption", "none", "-d", "disk0", "--repo", repo.toString(), "--run-dir",
                jb.runDir().toString());
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (jb.ok("snapshot_collect").out().isBlank()) {
            assertTrue(System.nanoTime() < deadline && client.isAlive(), "the daemon never made the backup's snapshot: "
                    + Files.readString(log));
            Thread.sleep(50);
        }
        client.destroy();
        client.waitFor();
        while (!jb.ok("snapshot_collect").out().isBlank()) {
            assertTrue(System.nanoTime() < deadline, "the daemon kept the interrupted backup's snapshot");
            Thread.sleep(100);
        }
        Files.writeString(go, "");
        try (var points = Files.list(repo.resolve("points"))) {
            assertEquals(0, points.filter(p -> !p.getFileName().toString().startsWith(".")).count(),
                    "the cancelled run committed no point");
        }
        assertTrue(jb.daemonLog().contains("the client went away"), jb.daemonLog());
        ChildProcess.Result after = backup();
        assertEquals("full", after.get("mode"));
        assertRestores("latest", capture("after.img"));
    }

    @Test
    void backupVerbErrorsAreOneClearLine() throws Exception {
        String missing = dir.resolve("missing").toString();
        expectAlone("is not a backup repository (no such directory)", "restore", "--repo", missing, "--point", "1",
                "--to", dir.resolve("x").toString());
        expectAlone("is not a backup repository", "verify", "--repo", missing);
        expectAlone("is not a backup repository", "prune", "--repo", missing, "--keep", "1");
        expectAlone("is not a backup repository", "points", "--repo", missing);
        String point = backup().get("point");
        String r = repo.toString();
        expectAlone("no point 9 in repository " + r, "restore", "--repo", r, "--point", "9", "--to", dir.resolve("x").toString());
        expectAlone("no point of device vdb in " + r, "restore", "--repo", r, "--point", "latest", "-d", "vdb", "--to",
                dir.resolve("x").toString());
        expectAlone("--point latest needs -d DEVICE", "verify", "--repo", r, "--point", "latest");
        expectAlone("bad point 'first'", "serve", "--repo", r, "--point", "first", "--socket", dir.resolve("s").toString());
        expectAlone("--keep must be at least 1", "prune", "--repo", r, "--keep", "0");
        expectAlone("a retention needs at least one keep rule (--keep-last, --keep-hourly", "prune", "--repo", r);
        ChildProcess.Result badSize = jb.run("backup", "-d", "disk0", "--repo", dir.resolve("r2").toString(),
                "--chunk-size", "3K");
        assertEquals(22, badSize.exit(), badSize.err());
        assertOneLine(badSize, "bad chunk size '3K': a power of two from 4K to 4M");
        expectAlone("cannot restore to " + dir + ": it is a directory", "restore", "--repo", r, "--point", point, "--to",
                dir.toString());
        ChildProcess.Result unknown = jb.run("backup", "-d", "nope", "--repo", r);
        assertEquals(2, unknown.exit(), "ENOENT, as blksnap for a device without its filter: " + unknown.err());
        assertOneLine(unknown, "no device named 'nope'");
        assertNoSnapshot();

        Path none = dir.resolve("none");
        ChildProcess.Result noKey = jb.run("backup", "-d", "disk0", "--repo", none.toString(), "--storage", dir.toString());
        assertNotEquals(0, noKey.exit(), noKey.out());
        assertOneLine(noKey, "there is no repository at " + none + ", and making one encrypted needs a password or key"
                + " file (--password-file, $JBLKSNAP_PASSWORD_FILE or --key-file; password_file or key_file in a job);"
                + " for an unencrypted one, ask for encryption none (--encryption none;");
        assertTrue(Files.notExists(none), "an encrypted repository is not made without a key, nor a plain one unasked");
        assertNoSnapshot();
        Path pw = Files.writeString(dir.resolve("pw"), "pw\n");
        ChildProcess.Result both = jb.run("backup", "-d", "disk0", "--repo", none.toString(), "--encryption", "none",
                "--password-file", pw.toString());
        assertEquals(22, both.exit(), both.err());
        assertOneLine(both, "--encryption none takes no --password-file, --key-file or JBLKSNAP_PASSWORD_FILE");
        assertTrue(Files.notExists(none));
    }

    private void expectAlone(String text, String... args) throws Exception {
        ChildProcess.Result res = jb.runAlone(args);
        assertNotEquals(0, res.exit(), () -> String.join(" ", args) + " succeeded");
        assertOneLine(res, text);
    }

    private static void assertOneLine(ChildProcess.Result r, String text) {
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), () -> "one line on stderr, got: " + r.err());
        assertTrue(lines.getFirst().startsWith("jblksnap: ") && lines.getFirst().contains(text), r.err());
    }
}
