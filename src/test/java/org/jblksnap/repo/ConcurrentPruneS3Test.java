package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Verifier;
import org.jblksnap.backup.VerifyReport;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.S3Gateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many hosts, one bucket (issue 13): two processes store points of two devices into one bucket
 * on the real gateway while a third prunes it again and again, for {@value #SECONDS} s
 * ({@code -Djblksnap.concurrent.seconds=N}). The writers store through the backup's path
 * (entries put with dedup, packs finished, point committed: {@link Points#commit}), their
 * content mostly from a shared pool of chunks so that dedup keeps meeting condemned packs, and
 * hold their catalogue a while before they commit. At the end every point committed and still
 * there restores byte for byte, verify is clean, and a last prune alone sweeps every marker.
 */
@Timeout(600)
class ConcurrentPruneS3Test {
    private static final long SECONDS = Long.getLong("jblksnap.concurrent.seconds", 60);
    private static final int KEEP = 2;
    S3Gateway gw;

    @TempDir
    Path dir;

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

    private static VerifyReport verify(Repository r) throws IOException {
        return new Verifier(r, Progress.quiet(new PrintStream(PrintStream.nullOutputStream())), 2).verify(null);
    }

    @Test
    void twoWritersAndAPruneLoopInOneBucketLoseNothing() throws Exception {
        String repo = gw.newRepo();
        Repository.create(RepositoryLocation.open(repo), RepositoryConfig.of(WriterChild.CS, 256 << 10));
        String[] devices = {"vda", "vdb"};
        List<Process> children = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        for (int i = 0; i < devices.length; i++) {
            Path log = dir.resolve(devices[i] + ".log");
            logs.add(log);
            children.add(ChildProcess.java(WriterChild.class, repo, devices[i], Long.toString(SECONDS),
                    Long.toString(1000L * (i + 1))).start(log));
        }
        Path pruneLog = dir.resolve("prune.log");
        children.add(ChildProcess.java(PruneLoopChild.class, repo, Long.toString(SECONDS), Integer.toString(KEEP))
                .start(pruneLog));
        logs.add(pruneLog);
        try {
            for (int i = 0; i < children.size(); i++) {
                Process p = children.get(i);
                assertTrue(p.waitFor(SECONDS + 180, TimeUnit.SECONDS), "child " + i + " did not end");
                assertEquals(0, p.exitValue(), "child failed: " + Files.readString(logs.get(i)));
            }
        } finally {
            for (Process p : children) {
                ChildProcess.kill(p);
            }
        }
        Map<Long, byte[]> committed = new HashMap<>();
        for (int i = 0; i < devices.length; i++) {
            for (String line : Files.readAllLines(logs.get(i))) {
                if (line.startsWith("committed ")) {
                    String[] w = line.split(" ");
                    committed.put(Long.parseLong(w[1]), WriterChild.content(devices[i], Long.parseLong(w[2])));
                }
            }
        }
        List<String> prunes = Files.readAllLines(pruneLog).stream().filter(l -> l.startsWith("pruned ")).toList();
        System.out.println("ConcurrentPruneS3Test: " + committed.size() + " points committed, " + prunes.size()
                + " prunes in " + SECONDS + " s; the last: " + (prunes.isEmpty() ? "none" : prunes.getLast()));
        assertTrue(committed.size() >= 2 * KEEP + 2, "points were committed: " + committed.keySet());
        assertTrue(prunes.size() >= 3, "prunes ran: " + prunes);
        assertTrue(prunes.stream().anyMatch(l -> !l.contains("condemned 0 packs")), "prunes condemned packs: " + prunes);
        assertTrue(prunes.stream().anyMatch(l -> !l.contains("swept 0 packs")),
                "prunes swept packs while the writers ran: " + prunes);
        try (Repository r = Repository.open(repo, false)) {
            List<Long> ids = r.points().ids();
            for (long id : ids) {
                assertTrue(committed.containsKey(id), "point " + id + " was committed by a writer");
                assertArrayEquals(committed.get(id), Points.read(r, id), "point " + id + " restores byte for byte");
            }
            assertTrue(ids.size() >= 2 * KEEP, "the newest points of each device are kept: " + ids);
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
        }
        PruneReport last;
        try (Repository p = Repository.openForPrune(repo, Unlock.NONE)) {
            last = Pruner.prune(p, KEEP);
            System.out.println("ConcurrentPruneS3Test: alone: " + last.format());
            assertEquals(0, last.waitingMarkers(), last.format());
        }
        try (Repository r = Repository.open(repo, false)) {
            for (long id : r.points().ids()) {
                assertArrayEquals(committed.get(id), Points.read(r, id), "point " + id + " restores byte for byte");
            }
            VerifyReport v = verify(r);
            assertTrue(v.ok(), v.format());
            assertEquals(last.unusedEntriesLeft(), v.unusedEntries(), "a prune alone leaves only what it says: "
                    + v.format());
            assertEquals(List.of(), Condemned.list(r.store()));
        }
    }
}
