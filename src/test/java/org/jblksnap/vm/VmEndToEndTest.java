package org.jblksnap.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.jblksnap.daemon.JblksnapProcess;
import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A real VM end to end: a guest whose disk is a jblksnap NBD export writes and syncs files
 * without pause; a backup runs meanwhile, its take hooks asking the guest's agent to freeze
 * and thaw the file system (what virsh domfsfreeze does through the QEMU guest agent); the
 * point has no journal to replay (restored to a file and read by dumpe2fs); restored live, it
 * boots a second guest at once, from the daemon's export while the copy runs behind it, which
 * finds every file the first had synced before the take, byte for byte, and unmounts cleanly;
 * when the copy has ended, e2fsck finds the restored file system clean. The guests run under
 * QEMU's software emulation by default (see {@link Vm} for why).
 */
@Timeout(900)
class VmEndToEndTest {
    private static final Duration BOOT = Duration.ofSeconds(180);

    @TempDir
    Path dir;

    @Test
    void backupOfARunningGuestRestoresIntoAGuestThatBoots() throws Exception {
        Path kernels = GuestImage.kernelDir();
        assertTrue(kernels != null, "no guest kernel: scripts/test (ensure_vm_tools in scripts/env.sh) unpacks it");
        GuestImage image = GuestImage.build(kernels, dir);

        Path disk = dir.resolve("vm0.img");
        ChildProcess.of("truncate", "-s", "256M", disk.toString()).check();
        ChildProcess.of("mkfs.ext4", "-q", "-F", disk.toString()).check();
        Path agentHook = dir.resolve("agent.py");
        Files.writeString(agentHook, AGENT);
        Path preTake = dir.resolve("pre-take.console");
        Path vm1Hooks = dir.resolve("vm1.hooks");
        Path vm1Console = dir.resolve("vm1.console");
        Path config = dir.resolve("config.json");
        Files.writeString(config, """
                {"take_hooks": {"pre_take": "python3 %1$s %2$s freeze && cp %3$s %4$s",
                                "post_take": "python3 %1$s %2$s thaw", "timeout_seconds": 60}}
                """.formatted(agentHook, vm1Hooks, vm1Console, preTake));

        try (JblksnapProcess jb = new JblksnapProcess(dir.resolve("run"))) {
            jb.startDaemon("--device", "vm0=" + disk, "--config", config.toString());
            String export = "nbd+unix:///vm0?socket=" + jb.runDir().resolve("nbd.sock");
            Path repo = dir.resolve("repo");
            String pointId;
            try (Vm vm1 = Vm.boot(image, dir, "vm1", export, "writer");
                    GuestAgent agent = GuestAgent.hold(vm1.agentSocket, vm1Hooks)) {
                vm1.awaitLine("synced f20 ", BOOT);
                ChildProcess.Result backup = jb.run("backup", "--encryption", "none", "-d", "vm0", "--repo", repo.toString(),
                        "--storage", dir.toString(), "-j");
                String console = vm1.consoleText();
                assertEquals(0, backup.exit(), () -> backup.err() + "\nthe guest's console ends:\n"
                        + console.substring(Math.max(0, console.length() - 3000)));
                pointId = new ObjectMapper().readTree(backup.out()).get("point").asText();
                int before = synced(vm1.consoleText()).size();
                vm1.awaitLine("synced f" + (before + 10) + " ", BOOT); // the guest goes on after the thaw
            }
            Map<String, String> atTake = synced(Files.readString(preTake));
            assertTrue(atTake.size() >= 20, "the pre-take hook saw the guest's synced files: " + atTake.size());

            Path point = dir.resolve("point.img");
            jb.okAlone("restore", "--repo", repo.toString(), "-d", "vm0", "--point", pointId, "--to", point.toString());
            String features = ChildProcess.of("dumpe2fs", "-h", point.toString()).check().out();
            assertTrue(features.contains("Filesystem features:") && !features.contains("needs_recovery"),
                    "the guest froze its file system for the take: no journal to replay\n" + features);

            // restored live: the second guest boots from the export while the copy runs behind it
            Path restored = dir.resolve("restored.img");
            Path liveLog = dir.resolve("live.log");
            Process live = jb.start(liveLog, "restore", "--live", "--run-dir", jb.runDir().toString(),
                    "--repo", repo.toString(), "--point", pointId, "-d", "vm1", "--to", restored.toString());
            Await.until(Duration.ofSeconds(120), () -> {
                if (!live.isAlive() && !Files.readString(liveLog).contains("attached")) {
                    throw new AssertionError("restore --live ended: " + Files.readString(liveLog));
                }
                return Files.readString(liveLog).contains("attached");
            },
                    () -> "restore --live did not attach: " + (Files.exists(liveLog) ? Files.readString(liveLog) : ""));
            String restoredExport = "nbd+unix:///vm1?socket=" + jb.runDir().resolve("nbd.sock");
            try (Vm vm2 = Vm.boot(image, dir, "vm2", restoredExport, "check")) {
                assertTrue(vm2.waitForExit(BOOT), "the restored guest powers off:\n" + vm2.consoleText());
                String console = vm2.consoleText();
                assertTrue(console.lines().anyMatch("umounted"::equals), "the restored guest unmounts:\n" + console);
                Map<String, String> have = have(console);
                for (Map.Entry<String, String> f : atTake.entrySet()) {
                    assertEquals(f.getValue(), have.get(f.getKey()), f.getKey() + ", synced before the take");
                }
            }
            assertTrue(live.waitFor(600, TimeUnit.SECONDS), "the live restore ends");
            assertEquals(0, live.exitValue(), Files.readString(liveLog));
            jb.ok("detach", "-d", "vm1");
            ChildProcess.Result fsck = ChildProcess.of("e2fsck", "-fn", restored.toString()).run();
            assertEquals(0, fsck.exit(), "the restored file system checks clean:\n" + fsck.all());
        }
    }

    /** File name → SHA-256 of every {@code synced} line. */
    private static Map<String, String> synced(String console) {
        return pairs(console, "synced ");
    }

    private static Map<String, String> have(String console) {
        return pairs(console, "have ");
    }

    private static Map<String, String> pairs(String console, String prefix) {
        Map<String, String> m = new LinkedHashMap<>();
        console.lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length()).split(" "))
                .filter(w -> w.length == 2 && w[1].length() == 64).forEach(w -> m.put(w[0], w[1]));
        return m;
    }

    /** A take hook's side of the guest agent: sends a command through {@link GuestAgent} and waits for the answer. */
    private static final String AGENT = """
            import socket, sys
            path, cmd = sys.argv[1], sys.argv[2]
            want = {"freeze": b"frozen", "thaw": b"thawed"}[cmd]
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(120)
            s.connect(path)
            s.sendall(cmd.encode() + b"\\n")
            got = b""
            while want not in got:
                d = s.recv(256)
                if not d:
                    sys.exit("the guest agent closed before answering " + cmd)
                got += d
            """;
}
