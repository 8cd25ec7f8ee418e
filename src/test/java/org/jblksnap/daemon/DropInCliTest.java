package org.jblksnap.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.Version;
import org.jblksnap.testutil.TestDevices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The `jblksnap` verbs as a script written for upstream's `blksnap` tool uses them: bare ids,
 * upstream's collect output, devices by path and attached on demand, an attached device is no
 * error, "not found" is a result; and what jblksnap adds for such scripts: take hooks, a
 * storage limit raised at run time, listings.
 */
class DropInCliTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;
    JblksnapProcess jb;

    @AfterEach
    void stop() throws Exception {
        if (jb != null) {
            jb.close();
        }
    }

    private Path device(String name, long size) throws IOException {
        return TestDevices.sparseFile(dir, name, size);
    }

    private void start(String... options) throws Exception {
        jb = new JblksnapProcess(dir.resolve("run"));
        jb.startDaemon(options);
    }

    @Test
    void aBlksnapScriptRunsAsItIs() throws Exception {
        Path disk0 = device("disk0.img", 32 * MIB);
        Path disk1 = device("disk1.img", 16 * MIB);
        start("--device", "disk0=" + disk0, "--param", "chunk_minimum_shift=16", "--param", "diff_storage_minimum=2048");
        assertTrue(jb.okAlone("help").out().contains("stretch_snapshot"));
        assertTrue(jb.okAlone("help", "snapshot_take").out().contains("--pre-take"));
        assertEquals(Version.VERSION, jb.ok("version").get("version"), "the daemon's version");

        // attach: by name with its path, or by path alone; attached already is no error.
        assertEquals("already attached", jb.ok("attach", "-d", "disk0", "-p", disk0.toString()).get("result"));
        ChildProcess.Result byPath = jb.ok("attach", "-d", disk1.toString());
        assertEquals("attached", byPath.get("result"));
        assertEquals("disk1.img", byPath.get("device"));
        assertEquals("already attached", jb.ok("attach", "-d", disk1.toString()).get("result"));
        assertEquals("0", jb.ok("cbtinfo", "-d", disk1.toString()).get("changes_number"));

        // ID=$(blksnap snapshot_create -d A B -f … -l …), a device not attached is attached.
        Path disk2 = device("disk2.img", 8 * MIB);
        String id = jb.ok("snapshot_create", "-d", "disk0", disk1.toString(), "-f", dir.toString(), "-l", "64M").out();
        assertTrue(id.matches("[0-9a-f-]{36}\n"), id);
        id = id.strip();
        jb.ok("snapshot_add", "-i", id, "-d", disk2.toString());
        assertEquals(id + " \n\n", jb.ok("snapshot_collect").out(), "upstream's format");

        ChildProcess.Result info = jb.ok("snapshot_info", "-d", "disk0");
        assertEquals("0", info.get("error_code"));
        assertEquals("", info.get("image"), "no image before take");
        assertEquals(id, info.get("snapshot"));
        assertEquals(String.valueOf(64 * MIB), info.get("diff_storage_limit"));

        jb.ok("markdirtyblock", "-d", "disk0", "--ranges", "0:1", "256:128");
        jb.ok("snapshot_take", "-i", id);
        assertEquals("disk2.img@" + id, jb.ok("snapshot_info", "-d", disk2.toString(), "-f", "image").out().strip());

        String collected = jb.ok("snapshot_collect", "-i", id).out();
        assertTrue(collected.startsWith("id=" + id + "\nstate=taken\n"), collected);
        assertTrue(collected.contains("\n\ndevice=disk0\npath=" + disk0 + "\nimage=disk0@" + id + "\nerror_code=0\n"), collected);
        assertTrue(collected.contains("\n\ndevice=disk2.img\n"), collected);
        String trackers = jb.ok("tracker_collect").out();
        assertEquals(3, trackers.lines().filter(l -> l.startsWith("device=")).count(), trackers);
        assertTrue(trackers.startsWith("\ndevice=disk0\n"), "a block per device, each after an empty line:\n" + trackers);
        assertTrue(trackers.contains("\ndevice=disk1.img\npath=" + disk1 + "\nblock_size=65536\n"), trackers);
        assertTrue(trackers.contains("changes_number=1\nsnapshot=" + id + "\n"), trackers);

        // The limit raised at run time; never lowered.
        assertEquals(String.valueOf(128 * MIB), jb.ok("stretch_snapshot", "-i", id, "-l", "128M").get("diff_storage_limit"));
        expectError(22, "can only be raised", "stretch_snapshot", "-i", id, "-l", "64M");

        jb.ok("snapshot_destroy", "-i", id);
        assertEquals("not found", jb.ok("snapshot_waitevent", "-i", id, "-t", "10").get("result"));
        assertEquals("0", jb.ok("snapshot_info", "-d", "disk0").get("error_code"), "in no snapshot: 0, as upstream");
    }

    @Test
    void takeHooksRunAroundTheTakeAndAFailingOneTakesNothing() throws Exception {
        Path disk0 = device("disk0.img", 16 * MIB);
        Path log = dir.resolve("hooks.log");
        Path config = Files.writeString(dir.resolve("config.json"), """
                {"take_hooks": {"pre_take": "echo pre $JBLKSNAP_SNAPSHOT_ID $JBLKSNAP_DEVICES >> %s",
                                "post_take": "echo post $JBLKSNAP_TAKE_RESULT >> %s", "timeout_seconds": 30}}
                """.formatted(log, log));
        start("--config", config.toString(), "--device", "disk0=" + disk0, "--param", "chunk_minimum_shift=16");

        String id = jb.ok("snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "64M").out().strip();
        String failing = "echo failing; exit 3";
        expectError(125, "pre-take command failed", "snapshot_take", "-i", id, "--pre-take", failing);
        assertEquals("created", jb.ok("snapshot_collect", "-i", id).get("state"), "a failing pre-take hook takes nothing");
        assertTrue(Files.readString(log).startsWith("post ECANCELED: "), "the post hook runs all the same:\n" + Files.readString(log));

        long start = System.nanoTime();
        expectError(110, "did not finish within 1 s", "snapshot_take", "-i", id, "--pre-take", "sleep 60", "--hook-timeout", "1");
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30), "a hung hook is killed at its timeout");
        assertEquals("created", jb.ok("snapshot_collect", "-i", id).get("state"));

        Files.delete(log);
        ChildProcess.Result taken = jb.ok("snapshot_take", "-i", id);
        assertEquals("ok", taken.get("pre_take"));
        assertEquals("ok", taken.get("post_take"));
        assertEquals(List.of("pre " + id + " disk0", "post ok"), Files.readAllLines(log), "the config's hooks, in order");
        expectError(114, "already taken", "snapshot_take", "-i", id, "--pre-take", "", "--post-take", "");
        assertEquals(2, Files.readAllLines(log).size(), "empty commands override the config's");
        jb.ok("snapshot_destroy", "-i", id);
    }

    @Test
    void theWatcherStopsWhenTheSnapshotIsCorrupted() throws Exception {
        Path disk0 = device("disk0.img", 16 * MIB);
        start("--device", "disk0=" + disk0, "--param", "chunk_minimum_shift=16", "--param", "diff_storage_minimum=2048");
        String id = jb.ok("snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "2M").out().strip();
        jb.ok("snapshot_take", "-i", id);
        Path out = dir.resolve("watcher.out");
        Process watcher = jb.start(out, "snapshot_watcher", "-i", id, "--run-dir", jb.runDir().toString());
        jb.qemuIo("disk0", "write -P 0x5a 0 8M", "flush");
        assertTrue(watcher.waitFor(30, TimeUnit.SECONDS), "the watcher stops at corrupted:\n" + Files.readString(out));
        assertEquals(0, watcher.exitValue());
        String events = Files.readString(out);
        assertTrue(events.contains("event=no_space\nrequested_sectors=4096\n"), events);
        assertTrue(events.strip().endsWith("errno=ENOSPC\nerror_code=-28"), events);
        assertEquals("-28", jb.ok("snapshot_info", "-d", "disk0").get("error_code"));
        jb.ok("snapshot_destroy", "-i", id);
    }

    private void expectError(int errno, String text, String... args) throws Exception {
        ChildProcess.Result r = jb.run(args);
        assertEquals(errno, r.exit(), () -> String.join(" ", args) + " -> " + r.err());
        assertTrue(r.err().startsWith("jblksnap: ") && r.err().contains(text), r.err());
    }
}
