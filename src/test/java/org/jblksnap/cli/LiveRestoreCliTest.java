package org.jblksnap.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import org.jblksnap.control.ControlClient;
import org.jblksnap.daemon.JblksnapProcess;
import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.TestDevices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * `jblksnap restore --live` through the real command and daemon: the target is usable over
 * NBD at once, a write made during the restore survives it and a kill -9 of the daemon, the
 * next `restore --live` of the same point completes the target, and bad input changes nothing.
 */
@Timeout(900)
class LiveRestoreCliTest {
    private static final long SIZE = 512L << 20;

    @TempDir
    Path dir;
    JblksnapProcess jb;
    Path disk;
    Path repo;
    Path target;
    /** The number of the one point, backed up from disk0. */
    String point;

    @BeforeEach
    void setUp() throws Exception {
        ChildProcess.assumeInstalled("qemu-io");
        disk = TestDevices.patternFile(dir, "disk0.img", SIZE);
        repo = dir.resolve("repo");
        target = TestDevices.sparseFile(dir, "target.img", SIZE);
        jb = new JblksnapProcess(dir.resolve("run"));
        jb.startDaemon("--device", "disk0=" + disk);
        point = jb.ok("backup", "--encryption", "none", "-d", "disk0", "--repo", repo.toString(), "--storage",
                dir.toString()).get("point");
    }

    @AfterEach
    void tearDown() throws Exception {
        jb.close();
    }

    private JsonNode status() throws Exception {
        try (ControlClient c = ControlClient.connect(jb.runDir())) {
            return c.call("restore_status", ControlClient.args().put("device", "restored"));
        }
    }

    private Process startLive(Path log) throws Exception {
        return jb.start(log, "restore", "--live", "--run-dir", jb.runDir().toString(), "--repo", repo.toString(),
                "--point", point, "-d", "restored", "--to", target.toString());
    }

    @Test
    void aWriteDuringTheRestoreSurvivesAKillAndTheNextRunCompletesTheTarget() throws Exception {
        Path log = dir.resolve("live-1.log");
        Process live = startLive(log);
        Await.until(Duration.ofSeconds(60), () -> Files.exists(log) && Files.readString(log).contains("attached"),
                () -> "restore --live did not attach: " + (Files.exists(log) ? Files.readString(log) : ""));
        // Usable at once: reads of what is not restored yet come from the point.
        String read = jb.qemuIo("restored", "read -v 511M 512");
        assertTrue(read.contains("read 512/512"), read);
        jb.qemuIo("restored", "write -P 0xab 1048576 65536", "write -P 0xcd 300000256 4096", "flush");
        JsonNode before = status();
        assertEquals("running", before.path("state").asText(), before.toString());
        jb.killDaemon();
        assertTrue(live.waitFor(60, TimeUnit.SECONDS), "restore --live ends when its daemon goes");
        assertNotEquals(0, live.exitValue(), "and says the restore did not finish");

        jb.startDaemon("--device", "disk0=" + disk);
        for (String name : new String[] {"restored", "other"}) {
            ChildProcess.Result plain = jb.run("attach", "-d", name, "-p", target.toString());
            assertNotEquals(0, plain.exit(), "a half-restored target is not attached as it is, as " + name);
            assertTrue(plain.err().contains("is half restored"), plain.err());
        }
        Path log2 = dir.resolve("live-2.log");
        Process again = startLive(log2);
        assertTrue(again.waitFor(600, TimeUnit.SECONDS), "the resumed restore ends");
        String out = Files.readString(log2);
        assertEquals(0, again.exitValue(), out);
        assertTrue(out.contains("resuming at"), out);
        assertTrue(out.contains("state=done"), out);

        byte[] expected = Files.readAllBytes(disk);
        Arrays.fill(expected, 1048576, 1048576 + 65536, (byte) 0xab);
        Arrays.fill(expected, 300000256, 300000256 + 4096, (byte) 0xcd);
        assertArrayEquals(expected, Files.readAllBytes(target), "the point, and the writes made during the restore");
        ChildProcess.Result cbt = jb.ok("cbtinfo", "-d", "restored");
        assertEquals("0", cbt.get("changes_number"), "an ordinary tracked device, its CBT a new generation");
        jb.ok("snapshot_create", "-d", "restored", "-f", dir.toString(), "-l", "1G");
    }

    @Test
    void badInputGetsAClearErrorAndAttachesNothing() throws Exception {
        ChildProcess.Result noPoint = jb.run("restore", "--live", "--repo", repo.toString(), "--point", "7", "-d",
                "restored", "--to", target.toString());
        assertNotEquals(0, noPoint.exit());
        assertTrue(noPoint.err().contains("no point 7"), noPoint.err());

        ChildProcess.Result taken = jb.run("restore", "--live", "--repo", repo.toString(), "--point", point, "-d",
                "disk0", "--to", target.toString());
        assertNotEquals(0, taken.exit());
        assertTrue(taken.err().contains("disk0 is already attached"), taken.err());

        Path small = TestDevices.sparseFile(dir, "small.img", SIZE / 2);
        ChildProcess.Result tooSmall = jb.run("restore", "--live", "--repo", repo.toString(), "--point", point, "-d",
                "restored", "--to", small.toString());
        assertNotEquals(0, tooSmall.exit());
        assertTrue(tooSmall.err().contains("less than the " + SIZE + " bytes of backup point " + point), tooSmall.err());

        ChildProcess.Result noName = jb.run("restore", "--live", "--repo", repo.toString(), "--point", point, "--to",
                target.toString());
        assertTrue(noName.err().contains("needs -d NAME"), noName.err());

        ChildProcess.Result cbt = jb.run("cbtinfo", "-d", "restored");
        assertNotEquals(0, cbt.exit(), "nothing was attached: " + cbt.out());
        assertFalse(Files.exists(jb.runDir().resolve("restore/restored.state")), "no restore state was left");
        assertEquals(-1, Files.mismatch(target, TestDevices.sparseFile(dir, "zero.img", SIZE)), "the target is untouched");
    }
}
