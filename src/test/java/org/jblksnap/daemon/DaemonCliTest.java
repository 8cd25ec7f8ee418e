package org.jblksnap.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.TestDevices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The blksnap verbs through the real `jblksnap` command against a running daemon. */
class DaemonCliTest {
    @TempDir
    Path dir;
    JblksnapProcess jb;
    Path disk0;
    Path disk1;

    @BeforeEach
    void start() throws Exception {
        disk0 = device("disk0.img", 32 << 20);
        disk1 = device("disk1.img", 16 << 20);
        jb = new JblksnapProcess(dir.resolve("run"));
        jb.startDaemon("--device", "disk0=" + disk0, "--param", "chunk_minimum_shift=16",
                "--param", "diff_storage_minimum=2048");
    }

    @AfterEach
    void stop() throws Exception {
        jb.close();
    }

    private Path device(String name, long size) throws IOException {
        return TestDevices.sparseFile(dir, name, size);
    }

    @Test
    void snapshotCycleByHand() throws Exception {
        ChildProcess.Result info = jb.ok("cbtinfo", "-d", "disk0");
        assertEquals("65536", info.get("block_size"));
        assertEquals(String.valueOf(32 << 20), info.get("device_capacity"));
        assertEquals("512", info.get("block_count"));
        assertEquals("0", info.get("changes_number"));
        String generation = info.get("generation_id");

        jb.ok("attach", "-d", "disk1", "-p", disk1.toString());
        String id = jb.ok("snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "64M").out().strip();
        UUID.fromString(id);
        jb.ok("snapshot_add", "-i", id, "-d", "disk1");
        // As upstream prints it: each id followed by a space, then an empty line.
        assertEquals(id + " \n\n", jb.ok("snapshot_collect").out());
        jb.ok("snapshot_take", "-i", id);

        ChildProcess.Result si = jb.ok("snapshot_info", "-d", "disk1");
        assertEquals("0", si.get("error_code"));
        assertEquals("disk1@" + id, si.get("image"));
        assertEquals("disk0@" + id, jb.ok("snapshot_info", "-d", "disk0", "-f", "image").out().strip());
        assertEquals("timeout", jb.ok("snapshot_waitevent", "-i", id, "-t", "50").get("result"));

        ChildProcess.Result after = jb.ok("cbtinfo", "-d", "disk0");
        assertEquals(generation, after.get("generation_id"));
        assertEquals("1", after.get("changes_number"));

        Path map = dir.resolve("map.bin");
        assertEquals("512", jb.ok("readcbtmap", "-d", "disk0", "-f", map.toString()).get("block_count"));
        assertEquals(512, Files.size(map));
        jb.ok("markdirtyblock", "-d", "disk0", "-r", "0:1", "256:128");
        jb.ok("readcbtmap", "-d", "disk0", "-f", map.toString());
        byte[] m = Files.readAllBytes(map);
        assertEquals(1, m[0]); // readable = previous
        assertEquals(0, m[1]);
        assertEquals(1, m[2]); // sectors 256..383 are the third 64 KiB block
        assertEquals(0, m[3]);

        jb.ok("snapshot_destroy", "-i", id);
        assertEquals("\n", jb.ok("snapshot_collect").out());
        // "not found" is a result, not an error, as upstream prints it.
        assertEquals("not found", jb.ok("snapshot_waitevent", "-i", id, "-t", "10").get("result"));
        String json = jb.ok("cbtinfo", "-d", "disk0", "-j").out();
        assertTrue(json.contains("\"changes_number\" : 1"), json);
        jb.ok("detach", "-d", "disk1");
    }

    @Test
    void theImageOverNbdIsTheDeviceAtTake() throws Exception {
        jb.qemuIo("disk0", "write -P 0x11 0 4M", "write -P 0x12 30M 2M");
        String id = jb.ok("snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "64M").out().strip();
        jb.ok("snapshot_take", "-i", id);
        jb.qemuIo("disk0", "write -P 0x21 1M 3M", "write -P 0x22 8M 1M", "flush");
        String image = jb.ok("snapshot_info", "-d", "disk0", "-f", "image").out().strip();
        jb.qemuIo(image, "read -P 0x11 0 4M", "read -P 0 4M 26M", "read -P 0x12 30M 2M");
        jb.qemuIo("disk0", "read -P 0x11 0 1M", "read -P 0x21 1M 3M", "read -P 0x22 8M 1M");
        // the image's own writes go to the difference storage, never the device
        jb.qemuIo(image, "write -P 0x33 16M 64k", "read -P 0x33 16M 64k");
        jb.qemuIo("disk0", "read -P 0 16M 64k");
        assertEquals("timeout", jb.ok("snapshot_waitevent", "-i", id, "-t", "10").get("result"));
        jb.ok("snapshot_destroy", "-i", id);
        String list = ChildProcess.of("nbdinfo", "--list", "nbd+unix:///?socket=" + jb.runDir().resolve("nbd.sock")).run()
                .all();
        assertTrue(list.contains("disk0") && !list.contains(image), "image export gone after destroy:\n" + list);
    }

    @Test
    void flushedWritesSurviveACrashAndACleanStop() throws Exception {
        jb.qemuIo("disk0", "write -P 0x44 0 1M", "flush");
        jb.killDaemon();
        byte[] head = new byte[1 << 20];
        try (RandomAccessFile f = new RandomAccessFile(disk0.toFile(), "r")) {
            f.readFully(head);
        }
        for (byte b : head) {
            assertEquals(0x44, b);
        }
        jb.startDaemon("--device", "disk0=" + disk0);
        jb.qemuIo("disk0", "read -P 0x44 0 1M", "write -P 0x55 1M 1M", "flush");
        jb.stopDaemon();
        jb.startDaemon("--device", "disk0=" + disk0);
        jb.qemuIo("disk0", "read -P 0x44 0 1M", "read -P 0x55 1M 1M");
    }

    @Test
    void everyErrorIsOneLineAndAnErrno() throws Exception {
        String id = jb.ok("snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "1G").out().strip();
        // The errnos of upstream: ENOENT for a device that is not attached, ESRCH for an unknown
        // snapshot but ENODEV when destroying one.
        expectError(2, "no device named 'nope'", "cbtinfo", "-d", "nope");
        expectError(3, "no snapshot with id", "snapshot_take", "-i", UUID.randomUUID().toString());
        expectError(3, "no snapshot with id", "snapshot_add", "-i", UUID.randomUUID().toString(), "-d", "disk0");
        expectError(19, "no snapshot with id junk", "snapshot_destroy", "-i", "junk");
        expectError(19, "no snapshot with id", "snapshot_destroy", "-i", UUID.randomUUID().toString());
        expectError(22, "bad limit '12Q'", "snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "12Q");
        expectError(2, "does not exist", "snapshot_create", "-f", dir.resolve("missing").toString(), "-l", "1G");
        expectError(16, "already in snapshot", "snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "1G");
        expectError(22, "is the tracked device disk0", "snapshot_create", "-f", disk0.toString(), "-l", "1G");
        expectError(16, "destroy it first", "detach", "-d", "disk0");
        expectError(114, "already attached", "attach", "-d", "disk0", "-p", disk1.toString());
        expectError(114, "already in snapshot", "snapshot_add", "-i", id, "-d", "disk0");
        expectError(2, "does not exist", "attach", "-d", "x", "-p", dir.resolve("nofile").toString());
        expectError(22, "bad range", "markdirtyblock", "-d", "disk0", "-r", "5");
        expectError(22, "outside the device", "markdirtyblock", "-d", "disk0", "-r", "65536:1");
        expectError(22, "Missing required option", "snapshot_take");
        jb.ok("snapshot_take", "-i", id);
        expectError(114, "already taken", "snapshot_take", "-i", id);
        jb.ok("attach", "-d", "disk1", "-p", disk1.toString());
        expectError(114, "already taken", "snapshot_add", "-i", id, "-d", "disk1");
        String empty = jb.ok("snapshot_create", "-f", dir.toString(), "-l", "1G").out().strip();
        expectError(19, "has no devices", "snapshot_take", "-i", empty);
        // nothing above changed the state
        assertEquals(3, jb.ok("snapshot_collect").out().lines().count());
        assertEquals("0", jb.ok("snapshot_info", "-d", "disk0").get("error_code"));
        jb.ok("snapshot_destroy", "-i", empty);
        jb.ok("snapshot_destroy", "-i", id);
    }

    private void expectError(int errno, String text, String... args) throws Exception {
        ChildProcess.Result r = jb.run(args);
        assertEquals(errno, r.exit(), () -> String.join(" ", args) + " -> " + r.err());
        assertEquals(1, r.err().lines().count(), () -> "one line on stderr, got: " + r.err());
        assertTrue(r.err().startsWith("jblksnap: ") && r.err().contains(text), r.err());
        assertEquals("", r.out());
    }

    @Test
    void aDaemonThatIsNotRunningIsReportedClearly() throws Exception {
        JblksnapProcess none = new JblksnapProcess(dir.resolve("nowhere"));
        ChildProcess.Result r = none.run("snapshot_collect");
        assertNotEquals(0, r.exit());
        assertTrue(r.err().contains("cannot reach the jblksnap daemon") && r.err().contains("is `jblksnap daemon"), r.err());
        assertEquals(1, r.err().lines().count());
    }

    @Test
    void aSecondDaemonOnTheSameRunDirectoryIsRefused() throws Exception {
        ChildProcess.Result r = jb.run("daemon", "--run-dir", jb.runDir().toString());
        assertEquals(16, r.exit(), r.err());
        assertTrue(r.err().contains("another jblksnap daemon is running"), r.err());
    }

    @Test
    void cleanStopKeepsTheGenerationAndKillStartsANewOne() throws Exception {
        String id = jb.ok("snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "1G").out().strip();
        jb.ok("snapshot_take", "-i", id);
        jb.ok("markdirtyblock", "-d", "disk0", "-r", "1024:8");
        jb.ok("snapshot_destroy", "-i", id);
        ChildProcess.Result before = jb.ok("cbtinfo", "-d", "disk0");
        Path map = dir.resolve("before.bin");
        jb.ok("readcbtmap", "-d", "disk0", "-f", map.toString());

        assertEquals(143, jb.stopDaemon(), "SIGTERM exit status");
        assertFalse(Files.exists(jb.runDir().resolve("control.sock")), "control socket removed at stop");
        jb.startDaemon("--device", "disk0=" + disk0, "--param", "chunk_minimum_shift=16");
        ChildProcess.Result after = jb.ok("cbtinfo", "-d", "disk0");
        assertEquals(before.get("generation_id"), after.get("generation_id"));
        assertEquals("1", after.get("changes_number"));
        Path map2 = dir.resolve("after.bin");
        jb.ok("readcbtmap", "-d", "disk0", "-f", map2.toString());
        assertEquals(-1, Files.mismatch(map, map2), "the readable map survives a clean restart");

        jb.killDaemon();
        jb.startDaemon("--device", "disk0=" + disk0, "--param", "chunk_minimum_shift=16");
        ChildProcess.Result crashed = jb.ok("cbtinfo", "-d", "disk0");
        assertNotEquals(before.get("generation_id"), crashed.get("generation_id"));
        assertEquals("0", crashed.get("changes_number"));
        assertTrue(jb.daemonLog().contains("no saved CBT"), jb.daemonLog());
    }

    @Test
    void aDeviceChangedWhileUntrackedStartsANewGeneration() throws Exception {
        String gen = jb.ok("cbtinfo", "-d", "disk0").get("generation_id");
        jb.stopDaemon();
        try (RandomAccessFile f = new RandomAccessFile(disk0.toFile(), "rw")) {
            f.seek(4096);
            f.write(new byte[] {1, 2, 3});
        }
        Files.setLastModifiedTime(disk0, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
        jb.startDaemon("--device", "disk0=" + disk0);
        assertNotEquals(gen, jb.ok("cbtinfo", "-d", "disk0").get("generation_id"));
        assertTrue(jb.daemonLog().contains("modified while it was not tracked"), jb.daemonLog());
    }

    /**
     * Another user cannot reach the control socket (mode 0600); and were the socket opened to
     * all, the daemon still refuses that user by its peer credentials and serves the owner on.
     */
    @Test
    void anotherUserIsRefused() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root, to run a client as user nobody");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "needs /usr/bin/python3 for the client");
        Path socket = jb.runDir().resolve("control.sock");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        for (Path d = jb.runDir(); d.startsWith(dir); d = d.getParent()) {
            Set<PosixFilePermission> perms = new HashSet<>(Files.getPosixFilePermissions(d));
            perms.add(PosixFilePermission.OTHERS_EXECUTE);
            Files.setPosixFilePermissions(d, perms);
        }
        String denied = asNobody(socket);
        assertTrue(denied.contains("PermissionError"), "the socket's mode keeps user nobody out: " + denied);

        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        String refused = asNobody(socket);
        assertTrue(refused.contains("\"errno\":\"EACCES\"") && refused.contains("user nobody may not control this daemon"),
                refused);
        jb.ok("snapshot_collect");
    }

    /** Connects to the control socket as user nobody and returns the first line back (or the error). */
    private String asNobody(Path socket) throws Exception {
        String client = "import socket,sys\n"
                + "s = socket.socket(socket.AF_UNIX)\n"
                + "s.connect(sys.argv[1])\n"
                + "s.sendall(b'{\"version\":1,\"verb\":\"snapshot_collect\",\"args\":{}}\\n')\n"
                + "print(s.makefile().readline())\n";
        return ChildProcess.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c",
                client, socket.toString()).timeout(Duration.ofSeconds(30)).run().all();
    }
}
