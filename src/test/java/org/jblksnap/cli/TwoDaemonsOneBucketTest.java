package org.jblksnap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.jblksnap.daemon.JblksnapProcess;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.S3Gateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many hosts, one bucket (issue 13), with the real programs: two daemons, each with a device of
 * its own, back up into one encrypted repository (a key file) in a bucket of the real gateway again and
 * again (random writes through NBD between runs, so every run after the first is an
 * incremental by CBT), while a third process prunes it (`jblksnap prune --keep-last 2`) in a
 * loop, for {@value #SECONDS_DEFAULT} s ({@code -Djblksnap.concurrent.seconds=N}). Then every
 * point still there restores byte for byte to its device as it was at that backup, verify is
 * clean, and so again after a last prune alone.
 */
@Timeout(900)
class TwoDaemonsOneBucketTest {
    private static final long SECONDS_DEFAULT = 45;
    private static final long SECONDS = Long.getLong("jblksnap.concurrent.seconds", SECONDS_DEFAULT);
    private static final long SIZE = 8L << 20;
    private static final int CBT_BLOCK = 64 << 10;
    private static final String KEEP = "2";

    @TempDir
    Path dir;
    S3Gateway gw;
    final List<JblksnapProcess> daemons = new ArrayList<>();

    @BeforeEach
    void gateway() {
        gw = S3Gateway.require();
    }

    @AfterEach
    void stop() throws Exception {
        for (JblksnapProcess jb : daemons) {
            jb.close();
        }
        if (gw != null) { // null when the test skipped without a gateway (JBLKSNAP_S3=off)
            gw.close();
        }
    }

    @Test
    void twoDaemonsBackingUpAndAPruneLoopInOneBucketLoseNothing() throws Exception {
        String repo = gw.newRepo();
        // a key file (init creates it): no Argon2id in each of the many commands
        String[] key = {"--key-file", dir.resolve("repo.key").toString()};
        JblksnapProcess admin = new JblksnapProcess(dir.resolve("admin"));
        admin.okAlone(with(List.of("init", "--repo", repo), key));
        Map<String, Path> refs = new ConcurrentHashMap<>(); // point id -> the device at its backup
        long end = System.nanoTime() + SECONDS * 1_000_000_000L;
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<Integer>> loops = new ArrayList<>();
            for (int host = 0; host < 2; host++) {
                String device = "disk" + host;
                DaemonDisk d = DaemonDisk.start(dir, dir.resolve("run" + host), device, SIZE, host + 1);
                JblksnapProcess jb = d.jb();
                daemons.add(jb);
                Path disk = d.disk();
                NbdWrites writes = d.writes();
                loops.add(pool.submit(() -> {
                    int runs = 0;
                    while (runs < 2 || System.nanoTime() < end) {
                        ChildProcess.Result r = jb.ok(with(List.of("backup", "-d", device, "--repo", repo,
                                "--storage", dir.toString()), key));
                        assertTrue(runs == 0 ? r.get("mode").equals("full") : r.get("mode").startsWith("incremental"),
                                r.out());
                        refs.put(r.get("point"), Files.copy(disk, dir.resolve("ref-" + r.get("point") + ".img")));
                        runs++;
                        writes.randomWrites(0.05, CBT_BLOCK);
                    }
                    return runs;
                }));
            }
            Future<List<String>> prunes = pool.submit(() -> {
                List<String> reports = new ArrayList<>();
                while (reports.size() < 3 || System.nanoTime() < end) {
                    reports.add(admin.okAlone(with(List.of("prune", "--repo", repo, "--keep-last", KEEP), key)).out()
                            .strip().replace('\n', ' '));
                }
                return reports;
            });
            int backups = loops.get(0).get() + loops.get(1).get();
            List<String> reports = prunes.get();
            System.out.println("TwoDaemonsOneBucketTest: " + backups + " backups, " + reports.size() + " prunes in "
                    + SECONDS + " s:\n" + String.join("\n", reports));
            assertTrue(reports.stream().anyMatch(r -> field(r, "condemned_packs") > 0), "prunes condemned packs");
            assertTrue(reports.stream().anyMatch(r -> field(r, "removed_packs") + field(r, "rewritten_packs") > 0),
                    "prunes deleted packs while the daemons backed up");
        } finally {
            pool.shutdownNow();
        }
        assertRestoresAndVerifies(admin, repo, key, refs);
        admin.okAlone(with(List.of("prune", "--repo", repo, "--keep-last", KEEP), key));
        assertRestoresAndVerifies(admin, repo, key, refs);
    }

    /** Every point in the repository restores to its device as it was at its backup; verify is clean. */
    private void assertRestoresAndVerifies(JblksnapProcess admin, String repo, String[] key, Map<String, Path> refs)
            throws Exception {
        List<String> ids = admin.points(with(List.of("--repo", repo), key));
        assertTrue(ids.size() >= 2 * Integer.parseInt(KEEP), "the newest points of each device are kept: " + ids);
        for (String id : ids) {
            assertTrue(refs.containsKey(id), "point " + id + " was made by a backup that said so");
            Path out = dir.resolve("restored.img");
            admin.okAlone(with(List.of("restore", "--repo", repo, "--point", id, "--to", out.toString()), key));
            assertEquals(-1, Files.mismatch(refs.get(id), out), "point " + id + " restores byte for byte");
            Files.delete(out);
        }
        ChildProcess.Result v = admin.okAlone(with(List.of("verify", "--repo", repo), key));
        assertEquals("ok", v.get("result"), v.out());
    }

    /** A number of a prune's one-line report (key=value words). */
    private static long field(String report, String key) {
        for (String word : report.split(" ")) {
            if (word.startsWith(key + "=")) {
                return Long.parseLong(word.substring(key.length() + 1));
            }
        }
        throw new AssertionError("no " + key + " in " + report);
    }

    private static String[] with(List<String> args, String[] more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }
}
