package org.jblksnap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.jblksnap.cli.S3CliTest.expect;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;

import org.jblksnap.daemon.JblksnapProcess;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.S3Gateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * `jblksnap copy` through the real command: an encrypted local repository copied into an
 * encrypted bucket of the real S3 gateway (another password), then into a plain local
 * repository; every point restores byte for byte from each, the second copy after an
 * incremental backup reads only the chunks the backup changed, and bad input is one line on
 * stderr with nothing written to the target.
 */
@Timeout(900)
class CopyCliTest {
    private static final int MIB = 1 << 20;
    private static final long SIZE = 32L * MIB;
    private static final int CBT_BLOCK = 64 << 10;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    S3Gateway gw;
    JblksnapProcess jb;
    Path disk;
    String s3;
    String local;
    NbdWrites writes;
    Path pwLocal;
    Path pwS3;

    @BeforeEach
    void start() throws Exception {
        gw = S3Gateway.require();
        s3 = gw.newRepo();
        local = dir.resolve("local").toString();
        pwLocal = Files.writeString(dir.resolve("pw-local"), "local secret\n");
        pwS3 = Files.writeString(dir.resolve("pw-s3"), "off-site secret\n");
        DaemonDisk d = DaemonDisk.start(dir, dir.resolve("run"), "disk0", SIZE, 1, "--param", "chunk_minimum_shift=16");
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

    /** A backup into the local repository: its point's number, and the device as it was then. */
    private record Backup(String point, Path ref) {
    }

    private Backup backup(int n) throws Exception {
        String point = jb.ok("backup", "-d", "disk0", "--repo", local, "--password-file", pwLocal.toString(),
                "--storage", dir.toString()).get("point");
        return new Backup(point, Files.copy(disk, dir.resolve("ref-" + n + ".img")));
    }

    private JsonNode copy(String... args) throws Exception {
        ChildProcess.Result r = jb.okAlone(concat(List.of("copy", "-j"), args));
        assertTrue(r.err().contains("copied "), r.err());
        System.out.println(String.join(" ", args) + "\n" + r.err()); // the summaries, in the test's output
        return JSON.readTree(r.out());
    }

    /** What a copy's result says of this source point (its number there is "copy"); fails when it was not copied. */
    private static JsonNode copied(JsonNode result, String point) {
        for (JsonNode p : result.get("points")) {
            if (p.get("point").asText().equals(point)) {
                return p;
            }
        }
        throw new AssertionError("point " + point + " was not copied: " + result);
    }

    private static String[] concat(List<String> head, String... tail) {
        List<String> all = new java.util.ArrayList<>(head);
        all.addAll(List.of(tail));
        return all.toArray(String[]::new);
    }

    private void assertRestores(String repo, Path pw, String point, Path expected) throws Exception {
        Path out = dir.resolve("restored.img");
        List<String> args = new java.util.ArrayList<>(List.of("restore", "--repo", repo, "--point", point, "--to",
                out.toString()));
        if (pw != null) {
            args.addAll(List.of("--password-file", pw.toString()));
        }
        jb.okAlone(args.toArray(String[]::new));
        assertEquals(-1, Files.mismatch(expected, out), "point " + point + " of " + repo + " restores byte for byte");
        Files.delete(out);
    }

    @Test
    void localToS3ToLocalRestoresByteForByteAndCopiesOnlyWhatIsNew() throws Exception {
        Backup b1 = backup(1);
        JsonNode first = copy("--from", local, "--from-password-file", pwLocal.toString(), "--to", s3,
                "--password-file", pwS3.toString());
        assertEquals(1, first.get("copied").asInt(), first.toString());
        String s3First = copied(first, b1.point()).get("copy").asText();
        assertEquals(List.of(s3First), jb.points("--repo", s3, "--password-file", pwS3.toString()),
                "the copy is the bucket's one point");
        long fullRead = first.get("read_bytes").asLong();
        assertTrue(fullRead > SIZE / 4, first.toString());

        BitSet touched = writes.randomWrites(0.02, CBT_BLOCK);
        Backup b2 = backup(2);
        JsonNode second = copy("--from", local, "--from-password-file", pwLocal.toString(), "--to", s3,
                "--password-file", pwS3.toString());
        assertEquals(1, second.get("copied").asInt(), second.toString());
        assertEquals(1, second.get("skipped").asInt(), second.toString());
        JsonNode p2 = copied(second, b2.point());
        assertEquals(s3First, p2.get("parent").asText(), "the parent's copy");
        String s3Second = p2.get("copy").asText();
        assertTrue(p2.get("read_chunks").asLong() <= touched.cardinality(), "only changed chunks are read: " + p2
                + ", " + touched.cardinality() + " blocks written");
        assertTrue(p2.get("read_bytes").asLong() <= (long) touched.cardinality() * CBT_BLOCK, p2.toString());
        assertTrue(p2.get("new_chunks").asLong() <= touched.cardinality(), p2.toString());
        JsonNode again = copy("--from", local, "--from-password-file", pwLocal.toString(), "--to", s3,
                "--password-file", pwS3.toString());
        assertEquals(0, again.get("copied").asInt());
        assertEquals(0, again.get("read_bytes").asLong());

        String back = dir.resolve("back").toString();
        JsonNode third = copy("--from", s3, "--from-password-file", pwS3.toString(), "--to", back, "--encryption", "none");
        assertEquals(2, third.get("copied").asInt(), third.toString());
        assertTrue(Files.notExists(Path.of(back, "keys")), "no credential for the target: not encrypted");

        assertRestores(s3, pwS3, s3First, b1.ref());
        assertRestores(s3, pwS3, s3Second, b2.ref());
        assertRestores(back, null, copied(third, s3First).get("copy").asText(), b1.ref());
        assertRestores(back, null, copied(third, s3Second).get("copy").asText(), b2.ref());
        assertEquals("ok", jb.okAlone("verify", "--repo", s3, "--password-file", pwS3.toString()).get("result"));
        assertEquals("ok", jb.okAlone("verify", "--repo", back).get("result"));
        assertNotEquals(0, jb.runAlone("points", "--repo", s3, "--password-file", pwLocal.toString()).exit(),
                "the bucket takes its own password, not the source's");
    }

    @Test
    void badInputIsOneLineAndWritesNothing() throws Exception {
        backup(1);
        String bucket = S3Gateway.bucketOf(s3);
        String from = "--from-password-file";
        Path wrong = Files.writeString(dir.resolve("wrong"), "not it\n");
        expect(jb.runAlone("copy", "--from", local, from, wrong.toString(), "--to", s3), "wrong password");
        expect(jb.runAlone("copy", "--from", local, "--to", s3), "is encrypted");
        expect(jb.runAlone("copy", "--from", local, from, pwLocal.toString(), "-d", "nosuch", "--to", s3),
                "no point of device nosuch");
        expect(jb.runAlone("copy", "--from", local, from, pwLocal.toString(), "--point", "9", "--to", s3),
                "no point 9");
        expect(jb.runAlone("copy", "--from", local, from, pwLocal.toString(), "--to", local), "the same repository");
        expect(jb.runAlone("copy", "--from", local, from, pwLocal.toString(), "--to", s3),
                "there is no repository at " + s3 + ", and making one encrypted needs a password or key file");
        expect(jb.runAlone("copy", "--from", local, from, pwLocal.toString(), "--to", s3, "--encryption", "none",
                "--password-file", pwS3.toString()), "--encryption none takes no --password-file");
        assertEquals(List.of(), gw.objects(bucket), "nothing was written to the bucket");

        jb.okAlone("copy", "--from", local, from, pwLocal.toString(), "--to", s3, "--password-file", pwS3.toString());
        List<String> before = gw.objects(bucket).stream().map(S3Object::key).sorted().toList();
        backup(2);
        expect(jb.runAlone("copy", "--from", local, from, pwLocal.toString(), "--to", s3, "--password-file",
                wrong.toString()), "wrong password");
        assertEquals(before, gw.objects(bucket).stream().map(S3Object::key).sorted().toList(),
                "a wrong target password writes nothing");
    }
}
