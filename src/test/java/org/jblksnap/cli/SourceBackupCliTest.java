package org.jblksnap.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.jblksnap.backup.QemuImage;
import org.jblksnap.backup.ServerProcess;
import org.jblksnap.daemon.JblksnapProcess;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * `backup --source`: a VM disk the way libvirt and Proxmox export one (a qcow2 with a
 * persistent dirty bitmap, served by qemu-nbd -B), backed up by the real command without a
 * daemon: the first run reads everything, the next only what the bitmap reports; both points
 * restore to the disk as it was at each run.
 */
@Timeout(300)
class SourceBackupCliTest {
    private static final int SIZE = 32 << 20;

    @TempDir
    Path dir;

    private final JblksnapProcess jb = new JblksnapProcess(Path.of("unused"));

    @Test
    void fullThenIncrementalByTheServersBitmap() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        Random rnd = new Random(11);
        img.write(img.randomWrites(rnd, 200, 256 << 10));
        img.addBitmap("since-last");
        Path repo = dir.resolve("repo");

        JsonNode first = backup(img, repo);
        assertEquals("full", first.get("mode").asText());
        Path atFirst = img.snapshotRaw("first.raw");

        List<QemuImage.Write> few = img.randomWrites(rnd, 20, 4096);
        img.write(few);
        JsonNode second = backup(img, repo);
        assertTrue(second.get("mode").asText().startsWith("incremental to point " + first.get("point").asText()),
                second.toString());
        long written = few.stream().mapToLong(QemuImage.Write::length).sum();
        assertTrue(second.get("read_bytes").asLong() < SIZE / 4,
                "an incremental reads what the bitmap reports (" + written + " bytes written), not the disk: " + second);
        Path atSecond = img.snapshotRaw("second.raw");

        assertRestores(repo, first, atFirst);
        assertRestores(repo, second, atSecond);
    }

    @Test
    void anEncryptedRepositoryBacksUpAndRestoresOnlyWithItsPassword() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        img.write(img.randomWrites(new Random(12), 100, 256 << 10));
        img.addBitmap("since-last");
        Path repo = dir.resolve("sealed");
        Path pw = dir.resolve("pw");
        Files.writeString(pw, "a long enough password\n");
        jb.okAlone("init", "--repo", repo.toString(), "--password-file", pw.toString());
        JsonNode first = backup(img, repo, "--password-file", pw.toString());
        Path atFirst = img.snapshotRaw("first.raw");
        img.write(img.randomWrites(new Random(13), 10, 4096));
        JsonNode second = backup(img, repo, "--password-file", pw.toString());
        assertTrue(second.get("mode").asText().startsWith("incremental"), second.toString());
        Path atSecond = img.snapshotRaw("second.raw");
        assertRestores(repo, first, atFirst, "--password-file", pw.toString());
        assertRestores(repo, second, atSecond, "--password-file", pw.toString());
        Path wrong = dir.resolve("wrong");
        Files.writeString(wrong, "not it");
        assertFails("wrong password", "restore", "--repo", repo.toString(), "-d", "vm0", "--point",
                first.get("point").asText(), "--to", dir.resolve("never.raw").toString(), "--password-file",
                wrong.toString());
        assertFalse(Files.exists(dir.resolve("never.raw")));
        assertFails("is encrypted: give --password-file", "verify", "--repo", repo.toString());
        jb.okAlone("verify", "--repo", repo.toString(), "--password-file", pw.toString());
    }

    @Test
    void badSourcesChangeNothing() throws Exception {
        Path repo = dir.resolve("repo");
        assertFails("bad NBD URI", "backup", "--source", "http://x/y", "-d", "vm0", "--repo", repo.toString());
        assertFails("needs ?socket=", "backup", "--source", "nbd+unix:///x", "-d", "vm0", "--repo", repo.toString());
        assertFails("cannot connect", "backup", "--source", "nbd+unix:///x?socket=" + dir.resolve("none.sock"),
                "-d", "vm0", "--repo", repo.toString());
        assertFails("one -d", "backup", "--source", "nbd://127.0.0.1/x", "-d", "a", "-d", "b",
                "--repo", repo.toString());
        assertFails("--bitmap is for --source", "backup", "-d", "a", "--bitmap", "b", "--repo", repo.toString(),
                "--run-dir", dir.resolve("run").toString());
        assertFalse(Files.exists(repo), "a failed backup created no repository");
    }

    private JsonNode backup(QemuImage img, Path repo, String... more) throws Exception {
        try (ServerProcess s = img.serve("since-last")) {
            String uri = "nbd+unix:///?socket=" + ((org.jblksnap.nbd.client.NbdAddress.Unix) s.address()).socket();
            List<String> args = new ArrayList<>(List.of("backup", "--source", uri, "--bitmap", "since-last",
                    "-d", "vm0", "--repo", repo.toString(), "-j"));
            args.addAll(List.of(more));
            if (!args.contains("--password-file") && !args.contains("--key-file")) {
                args.addAll(List.of("--encryption", "none"));
            }
            ChildProcess.Result r = jb.okAlone(args.toArray(String[]::new));
            return new ObjectMapper().readTree(r.out());
        }
    }

    private void assertRestores(Path repo, JsonNode point, Path expected, String... more) throws Exception {
        Path out = dir.resolve("restored-" + point.get("point").asText() + ".raw");
        List<String> args = new ArrayList<>(List.of("restore", "--repo", repo.toString(), "-d", "vm0",
                "--point", point.get("point").asText(), "--to", out.toString()));
        args.addAll(List.of(more));
        jb.okAlone(args.toArray(String[]::new));
        assertArrayEquals(Files.readAllBytes(expected), Files.readAllBytes(out), "point " + point.get("point"));
    }

    private void assertFails(String message, String... args) throws Exception {
        ChildProcess.Result r = jb.runAlone(args);
        assertNotEquals(0, r.exit(), String.join(" ", args));
        assertTrue(r.err().contains(message), "error says '" + message + "': " + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    }
}
