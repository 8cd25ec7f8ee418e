package org.jblksnap.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Verifier;
import org.jblksnap.control.ControlHandler;
import org.jblksnap.control.ControlProtocol;
import org.jblksnap.control.TakeHooks;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.KeyFiles;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.Points;
import org.jblksnap.repo.Repository;
import org.jblksnap.testutil.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Jobs in a daemon of this JVM, its clock set by the test: a schedule fires when its time
 * comes, a time missed while the daemon was down fires once at start, the keep rules prune,
 * a cancel in the middle of a read commits nothing and leaves no snapshot, two jobs of one
 * device queue, a bad job fails its own runs while the others go on, and a job the config
 * refuses does not stop the others.
 */
class JobsTest {
    private static final Duration RUN_TIMEOUT = Duration.ofSeconds(180);
    private static final int DISK0 = 64 << 20;

    @TempDir
    Path dir;
    Daemon daemon;
    final List<Jobs> started = new ArrayList<>();
    final MutableClock clock = new MutableClock(Instant.parse("2026-03-10T12:00:55Z"));

    /** A clock the test moves. */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        void set(String t) {
            now = Instant.parse(t);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @BeforeEach
    void startDaemon() throws IOException {
        DaemonConfig c = new DaemonConfig();
        c.runDir = dir.resolve("run");
        for (String d : List.of("disk0", "disk1")) {
            // disk0 is larger than what a run reads ahead (8 blocks of 4 MiB), so a run can be stopped in its middle
            byte[] data = new byte[d.equals("disk0") ? DISK0 : 16 << 20];
            new Random(d.hashCode()).nextBytes(data);
            Path f = dir.resolve(d + ".img");
            Files.write(f, data);
            c.devices.put(d, f);
        }
        daemon = new Daemon(c);
        daemon.start();
    }

    @AfterEach
    void stop() {
        started.forEach(Jobs::close);
        if (daemon != null) {
            daemon.close();
        }
    }

    private JobConfig job(String json) throws IOException {
        return JobConfig.parse(ControlProtocol.JSON.readTree(json.replace('\'', '"')), ZoneOffset.UTC);
    }

    private String repo(String name) {
        return dir.resolve(name).toString();
    }

    private Jobs jobs(Function<String, Progress> progress, JobConfig... configs) throws IOException {
        return jobs(progress, List.of(configs), Map.of());
    }

    private Jobs jobs(Function<String, Progress> progress, List<JobConfig> configs, Map<String, String> refused)
            throws IOException {
        return jobs(progress, configs, refused, TakeHooks.NONE);
    }

    private Jobs jobs(Function<String, Progress> progress, List<JobConfig> configs, Map<String, String> refused,
            TakeHooks hooks) throws IOException {
        Jobs j = new Jobs(configs, refused, daemon.engine(), daemon.exports(), hooks, dir.resolve("state/jobs"),
                clock, progress);
        j.start();
        started.add(j);
        return j;
    }

    private Jobs jobs(JobConfig... configs) throws IOException {
        return jobs(LoggedProgress::new, configs);
    }

    private static JsonNode verb(Jobs jobs, String verb, ObjectNode args) {
        ControlHandler h = new ControlHandler(null);
        jobs.register(h);
        ObjectNode req = ControlProtocol.JSON.createObjectNode().put("version", ControlProtocol.VERSION).put("verb", verb);
        req.set("args", args);
        return h.handle(req);
    }

    private static ObjectNode args() {
        return ControlProtocol.JSON.createObjectNode();
    }

    private static List<JsonNode> history(Jobs jobs, String name) {
        List<JsonNode> runs = new ArrayList<>();
        verb(jobs, "job_history", args().put("name", name)).path("result").path("runs").forEach(runs::add);
        return runs;
    }

    private static JsonNode awaitRuns(Jobs jobs, String name, int count) throws Exception {
        Await.until(RUN_TIMEOUT, () -> {
            List<JsonNode> h = history(jobs, name);
            return h.size() >= count && !h.get(count - 1).path("result").asText().equals("running");
        }, () -> "run " + count + " of " + name + " did not end: " + history(jobs, name));
        return history(jobs, name).get(count - 1);
    }

    private List<Long> points(String repo) throws IOException {
        try (Repository r = Repository.open(Path.of(repo), false)) {
            return r.points().list().stream().map(Point::id).toList();
        }
    }

    @Test
    void aScheduleFiresWhenItsTimeComesAndTheKeepRulesPrune() throws Exception {
        Jobs jobs = jobs(job("{'name': 'every-minute', 'devices': ['disk0'], 'repo': '" + repo("r") + "', 'encryption': 'none',"
                + " 'schedule': '* * * * *', 'keep_last': 2}"));
        assertEquals("2026-03-10T12:01:00Z", jobs.next(jobs.configs().get("every-minute"), Jobs.BACKUP).orElseThrow()
                .toString(), "five seconds out");
        clock.set("2026-03-10T12:00:59Z");
        jobs.tick();
        assertEquals(List.of(), history(jobs, "every-minute"), "not yet");
        List<Long> ids = new ArrayList<>();
        for (int minute = 1; minute <= 3; minute++) {
            if (minute > 1) {
                daemon.engine().tracker("disk0").write(minute << 20, ByteBuffer.wrap(new byte[4096]));
            }
            clock.set("2026-03-10T12:0" + minute + ":00Z");
            jobs.tick();
            JsonNode run = awaitRuns(jobs, "every-minute", minute);
            assertEquals("ok", run.path("result").asText(), run.toString());
            assertEquals("schedule", run.path("trigger").asText());
            assertEquals(1, run.path("point").size(), run.toString());
            ids.add(run.path("point").get(0).asLong());
            long read = run.path("read_bytes").asLong();
            assertTrue(minute == 1 ? read == DISK0 : read > 0 && read <= 1 << 20, "the first run reads everything, "
                    + "the next ones what changed: " + run);
            assertEquals(clock.instant().toString(), run.path("start").asText());
        }
        JsonNode first = history(jobs, "every-minute").getFirst();
        assertTrue(first.path("stored_bytes").asLong() > DISK0 - (1 << 20), "random data does not compress: " + first);
        assertEquals(ids.subList(1, 3), points(repo("r")), "keep_last 2 pruned the first point");
        assertEquals(2, daemon.engine().tracker("disk0").counters().writes(), "the device's I/O is counted");
        assertEquals(2 * 4096, daemon.engine().tracker("disk0").counters().writtenBytes());
        assertTrue(daemon.engine().collect().isEmpty(), "every run destroyed its snapshot");
    }

    /** A job's verify schedule fires on its own: a verify run of the repository, apart from the backups. */
    @Test
    void aVerifyScheduleFiresAVerifyRun() throws Exception {
        Jobs jobs = jobs(job("{'name': 'checked', 'devices': ['disk0'], 'repo': '" + repo("r") + "', 'encryption': 'none',"
                + " 'schedule': '0 2 * * *', 'keep_last': 2, 'verify': '30 * * * *'}"));
        JsonNode backup = verb(jobs, "job_run", args().put("name", "checked")).path("result");
        assertEquals("ok", backup.path("result").asText(), backup.toString());
        assertEquals("2026-03-10T12:30:00Z", jobs.next(jobs.configs().get("checked"), Jobs.VERIFY).orElseThrow().toString());
        clock.set("2026-03-10T12:29:59Z");
        jobs.tick();
        assertEquals(1, history(jobs, "checked").size(), "not yet");
        clock.set("2026-03-10T12:30:00Z");
        jobs.tick();
        JsonNode verify = awaitRuns(jobs, "checked", 2);
        assertEquals("verify", verify.path("kind").asText(), verify.toString());
        assertEquals("schedule", verify.path("trigger").asText());
        assertEquals("ok", verify.path("result").asText(), verify.toString());
        assertTrue(verify.path("read_bytes").asLong() > 0, "it read the packs: " + verify);
        assertEquals(List.of(backup.path("point").get(0).asLong()), points(repo("r")),
                "a verify commits and prunes nothing");
    }

    /**
     * A verify cancelled while it reads (job_cancel, or job_run's client gone) stops and is
     * recorded cancelled, in either phase (packs, then points); the repository is left as it
     * was and the next verify is ok. Its progress (a watcher that holds the run at the phase's
     * start) is where the cancel lands.
     */
    @Test
    void aVerifyCancelledWhileItReadsStops() throws Exception {
        Jobs jobs = jobs(job("{'name': 'checked', 'devices': ['disk0'], 'repo': '" + repo("r") + "', 'encryption': 'none',"
                + " 'schedule': '0 2 * * *', 'keep_last': 2}"));
        assertEquals("ok", verb(jobs, "job_run", args().put("name", "checked")).path("result").path("result").asText());
        for (String phase : new String[] {"verify packs", "verify points"}) {
            CountDownLatch reading = new CountDownLatch(1);
            CountDownLatch never = new CountDownLatch(1);
            Progress holdThere = new Progress() {
                @Override
                public void start(String what, long totalBytes) {
                    if (what.equals(phase)) {
                        reading.countDown();
                        try {
                            never.await(); // until the cancel interrupts the run
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }

                @Override
                public void advance(long bytes) {
                }

                @Override
                public void note(String line) {
                }

                @Override
                public void finish() {
                }
            };
            Jobs.Active run = jobs.submit("checked", Jobs.VERIFY, "manual", holdThere);
            assertTrue(reading.await(30, TimeUnit.SECONDS), "the verify reached " + phase);
            assertTrue(verb(jobs, "job_cancel", args().put("name", "checked")).path("ok").asBoolean());
            JobRun cancelled = run.result.get(30, TimeUnit.SECONDS);
            assertEquals(JobRun.CANCELLED, cancelled.result(), phase + ": " + cancelled);
        }
        JsonNode again = verb(jobs, "job_run", args().put("name", "checked").put("verify", true)).path("result");
        assertEquals("ok", again.path("result").asText(), "the repository is as it was: " + again);
    }

    /**
     * Another prune of the job's repository runs (another job's, another host's): the backup is
     * committed and the run is ok, its prune skipped with a note; the next run prunes.
     */
    @Test
    void aPruneBesideAnotherPruneIsSkippedNotFailed() throws Exception {
        Jobs jobs = jobs(job("{'name': 'j', 'devices': ['disk1'], 'repo': '" + repo("r") + "', 'encryption': 'none',"
                + " 'schedule': '0 2 * * *', 'keep_last': 1}"));
        long first = run(jobs, "j").path("point").get(0).asLong();
        JsonNode beside;
        try (Repository other = Repository.openForPrune(Path.of(repo("r")))) {
            beside = run(jobs, "j");
        }
        assertTrue(beside.path("message").asText().startsWith("prune skipped (repository ")
                && beside.path("message").asText().contains("is pruned by this process"), beside.toString());
        assertEquals(List.of(first, beside.path("point").get(0).asLong()), points(repo("r")),
                "nothing pruned beside the other prune");
        long third = run(jobs, "j").path("point").get(0).asLong();
        assertEquals(List.of(third), points(repo("r")), "the next run applies keep_last 1");
    }

    /** job_run: waits for the run and gives its history entry; fails the test when the run failed. */
    private static JsonNode run(Jobs jobs, String name) {
        JsonNode r = verb(jobs, "job_run", args().put("name", name));
        assertTrue(r.path("ok").asBoolean(), r.toString());
        return r.path("result");
    }

    /**
     * A job with an encrypted repository and copy_to: each run backs up, prunes its own
     * repository, then copies what the second one lacks (encrypted there under its own
     * password), so the second keeps points the first pruned; both restore.
     */
    @Test
    void aJobCopiesItsPointsToItsSecondRepository() throws Exception {
        Path pw = Files.writeString(dir.resolve("pw"), "local password");
        Path offsite = Files.writeString(dir.resolve("offsite-pw"), "off-site password");
        Jobs jobs = jobs(job("{'name': 'nightly', 'devices': ['disk1'], 'repo': '" + repo("local") + "',"
                + " 'password_file': '" + pw + "', 'copy_to': '" + repo("offsite") + "', 'copy_password_file': '"
                + offsite + "', 'schedule': '0 2 * * *', 'keep_last': 1}"));
        byte[][] states = new byte[2][];
        long last = 0;
        for (int run = 1; run <= 2; run++) {
            if (run == 2) {
                daemon.engine().tracker("disk1").write(1 << 20, ByteBuffer.wrap(new byte[8192]));
            }
            states[run - 1] = Files.readAllBytes(dir.resolve("disk1.img"));
            JsonNode r = verb(jobs, "job_run", args().put("name", "nightly"));
            assertTrue(r.path("ok").asBoolean(), r.toString());
            assertTrue(r.path("result").path("message").asText().contains("copied 1 point to " + repo("offsite")),
                    r.toString());
            last = r.path("result").path("point").get(0).asLong();
        }
        KeyFiles local = new KeyFiles(pw, null);
        KeyFiles remote = new KeyFiles(offsite, null);
        try (Repository r = Repository.open(repo("local"), false, local)) {
            assertEquals(List.of(last), r.points().ids(), "keep_last 1 in the job's own repository");
        }
        try (Repository r = Repository.open(repo("offsite"), false, remote)) {
            assertTrue(r.config().encrypted());
            List<Point> copies = r.points().list();
            assertEquals(2, copies.size(), "the second repository keeps what it got");
            for (int i = 0; i < 2; i++) {
                assertArrayEquals(states[i], Points.read(r, copies.get(i).id()), "copied point " + (i + 1));
            }
        }
        assertTrue(daemon.engine().collect().isEmpty());
    }

    /**
     * A local repository unencrypted (asked for) and an off-site copy encrypted under its own
     * password: the job loads and makes each as asked. A fresh job with copy_password_file alone
     * fails its runs saying "encryption": "none", which must then not be refused at load.
     */
    @Test
    void aJobWithAnUnencryptedRepositoryCopiesToAnEncryptedOne() throws Exception {
        Path offsite = Files.writeString(dir.resolve("offsite-pw"), "off-site password");
        Jobs jobs = jobs(job("{'name': 'nightly', 'devices': ['disk1'], 'repo': '" + repo("local") + "',"
                + " 'encryption': 'none', 'copy_to': '" + repo("offsite") + "', 'copy_password_file': '"
                + offsite + "', 'schedule': '0 2 * * *', 'keep_last': 1}"));
        JsonNode r = verb(jobs, "job_run", args().put("name", "nightly"));
        assertTrue(r.path("ok").asBoolean(), r.toString());
        assertEquals("ok", r.path("result").path("result").asText(), r.toString());
        try (Repository local = Repository.open(repo("local"), false, KeyFiles.NONE)) {
            assertFalse(local.config().encrypted());
        }
        try (Repository remote = Repository.open(repo("offsite"), false, new KeyFiles(offsite, null))) {
            assertTrue(remote.config().encrypted());
            assertEquals(1, remote.points().ids().size());
        }
    }

    @Test
    void aTimeMissedWhileTheDaemonWasDownRunsOnceAtStart() throws Exception {
        JobConfig hourly = job("{'name': 'hourly', 'devices': ['disk0'], 'repo': '" + repo("r") + "', 'encryption': 'none',"
                + " 'schedule': '0 * * * *', 'keep_daily': 7}");
        clock.set("2026-03-10T10:00:30Z");
        Jobs before = jobs(hourly);
        before.close();
        started.remove(before);
        clock.set("2026-03-10T12:30:00Z"); // 11:00 and 12:00 were missed
        Jobs after = jobs(hourly);
        after.tick();
        JsonNode run = awaitRuns(after, "hourly", 1);
        assertEquals("missed", run.path("trigger").asText());
        assertEquals("ok", run.path("result").asText(), run.toString());
        after.tick();
        Thread.sleep(1500); // a second loop tick too
        assertEquals(1, history(after, "hourly").size(), "two missed times run once");
        assertEquals("2026-03-10T13:00:00Z", after.next(hourly, Jobs.BACKUP).orElseThrow().toString());
    }

    /**
     * Progress that waits until the test lets it go: at its first advance (the run is then in
     * the middle of its read), or at the start of a step whose name starts with {@code step}.
     */
    static final class Gate {
        final CountDownLatch held = new CountDownLatch(1);
        final CountDownLatch go = new CountDownLatch(1);
        private final String step;

        Gate() {
            this(null);
        }

        Gate(String step) {
            this.step = step;
        }

        Progress progress(String job) {
            Progress log = new LoggedProgress(job);
            return new Progress() {
                @Override
                public void start(String what, long total) {
                    log.start(what, total);
                    if (step != null && what.startsWith(step)) {
                        hold();
                    }
                }

                @Override
                public void advance(long bytes) {
                    if (step == null) {
                        hold();
                    }
                }

                @Override
                public void note(String line) {
                    log.note(line);
                }

                @Override
                public void finish() {
                    log.finish();
                }
            };
        }

        private void hold() {
            held.countDown();
            try {
                go.await(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Test
    void aCancelInTheMiddleCommitsNothingAndDestroysTheSnapshot() throws Exception {
        Gate gate = new Gate();
        Jobs jobs = jobs(gate::progress, job("{'name': 'nightly', 'devices': ['disk0', 'disk1'], 'repo': '"
                + repo("r") + "', 'encryption': 'none', 'schedule': '0 2 * * *', 'keep_daily': 7}"));
        Jobs.Active run = jobs.submit("nightly", Jobs.BACKUP, "manual");
        assertTrue(gate.held.await(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS), "the run reads");
        assertEquals(1, daemon.engine().collect().size(), "the run's snapshot");
        JsonNode cancel = verb(jobs, "job_cancel", args().put("name", "nightly"));
        assertEquals(1, cancel.path("result").path("cancelled").asInt(), cancel.toString());
        assertTrue(daemon.engine().collect().isEmpty(), "the cancel destroyed the snapshot at once");
        gate.go.countDown();
        JobRun r = run.result.get(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(JobRun.CANCELLED, r.result(), r.toString());
        assertEquals(List.of(), r.points());
        assertEquals(List.of(), points(repo("r")), "nothing committed");
        try (Repository repo = Repository.open(Path.of(repo("r")), false)) {
            assertTrue(new Verifier(repo, Progress.quiet(System.err), 2).verify(null).ok(), "the repository verifies");
        }
        JsonNode again = verb(jobs, "job_run", args().put("name", "nightly"));
        assertTrue(again.path("ok").asBoolean(), again.toString());
        List<Long> committed = new ArrayList<>();
        again.path("result").path("point").forEach(p -> committed.add(p.asLong()));
        assertEquals(2, committed.size(), again.toString());
        assertEquals(committed.stream().sorted().toList(), points(repo("r")).stream().sorted().toList(),
                "the next run backs up both devices");
        assertEquals("disk0", again.path("result").path("devices").get(0).path("device").asText());
        JsonNode verify = verb(jobs, "job_run", args().put("name", "nightly").put("verify", true));
        assertEquals("ok", verify.path("result").path("result").asText(), verify.toString());
        assertEquals("verify", verify.path("result").path("kind").asText());
        assertEquals(3, history(jobs, "nightly").size());
    }

    /**
     * A cancel that comes once the backup is committed (job_cancel, or job_run's client gone,
     * while the run copies to copy_to) stops neither the prune nor the copy: when the copy then
     * fails, the run failed, and says why.
     */
    @Test
    void aCopyThatFailsAfterALateCancelIsAFailedRun() throws Exception {
        Gate gate = new Gate("copy point");
        Path offsite = Path.of(repo("offsite"));
        Jobs jobs = jobs(gate::progress, job("{'name': 'nightly', 'devices': ['disk1'], 'repo': '" + repo("local")
                + "', 'encryption': 'none', 'copy_to': '" + offsite + "', 'schedule': '0 2 * * *', 'keep_last': 1}"));
        Jobs.Active run = jobs.submit("nightly", Jobs.BACKUP, "manual");
        assertTrue(gate.held.await(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS), "the run copies");
        assertEquals(1, verb(jobs, "job_cancel", args().put("name", "nightly")).path("result").path("cancelled").asInt());
        Files.move(offsite, dir.resolve("offsite-moved"));
        Files.writeString(offsite, "the second repository is gone: a file is in its place");
        gate.go.countDown();
        JobRun r = run.result.get(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(JobRun.FAILED, r.result(), r.toString());
        assertTrue(r.message().contains("the backup is committed, but the copy to " + offsite + " failed: "), r.message());
        assertEquals(1, r.points().size(), r.toString());
        assertEquals(r.points(), points(repo("local")));
    }

    @Test
    void twoJobsOfOneDeviceQueue() throws Exception {
        Gate gate = new Gate();
        Jobs jobs = jobs(job -> job.equals("a") ? gate.progress(job) : new LoggedProgress(job),
                job("{'name': 'a', 'devices': ['disk0'], 'repo': '" + repo("ra") + "', 'encryption': 'none', 'schedule': '0 2 * * *', 'keep_last': 3}"),
                job("{'name': 'b', 'devices': ['disk0', 'disk1'], 'repo': '" + repo("rb") + "', 'encryption': 'none', 'schedule': '0 3 * * *',"
                        + " 'keep_last': 3}"));
        Jobs.Active a = jobs.submit("a", Jobs.BACKUP, "manual");
        assertTrue(gate.held.await(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS), "a reads");
        Jobs.Active b = jobs.submit("b", Jobs.BACKUP, "manual");
        Await.until(RUN_TIMEOUT, () -> state(jobs, "b").equals("queued"), () -> "b is queued behind a");
        assertEquals("running", state(jobs, "a"));
        assertEquals(List.of(), history(jobs, "b"), "b has not started");
        gate.go.countDown();
        JobRun ra = a.result.get(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        JobRun rb = b.result.get(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(ra.ok() && rb.ok(), ra + "\n" + rb);
        assertFalse(rb.start().isBefore(ra.end()), "b started after a ended");
    }

    private static String state(Jobs jobs, String name) {
        return listed(jobs, name).path("state").asText();
    }

    /** The job as job_list shows it. */
    private static JsonNode listed(Jobs jobs, String name) {
        for (JsonNode j : verb(jobs, "job_list", args()).path("result").path("jobs")) {
            if (j.path("job").asText().equals(name)) {
                return j;
            }
        }
        throw new AssertionError("no job " + name);
    }

    @Test
    void aBadJobFailsItsOwnRunsAndTheOthersGoOn() throws Exception {
        Path file = dir.resolve("not-a-dir");
        Files.writeString(file, "x");
        Jobs jobs = jobs(
                job("{'name': 'ghost', 'devices': ['disk9'], 'repo': '" + repo("r1") + "', 'encryption': 'none', 'schedule': '* * * * *', 'keep_last': 1}"),
                job("{'name': 'unreachable', 'devices': ['disk1'], 'repo': '" + file.resolve("repo")
                        + "', 'encryption': 'none', 'schedule': '* * * * *', 'keep_last': 1}"),
                job("{'name': 'good', 'devices': ['disk0'], 'repo': '" + repo("r3") + "', 'encryption': 'none', 'schedule': '* * * * *', 'keep_last': 1}"),
                job("{'name': 'keyless', 'devices': ['disk1'], 'repo': '" + repo("r4") + "', 'schedule': '* * * * *', "
                        + "'keep_last': 1}"));
        clock.set("2026-03-10T12:01:00Z");
        jobs.tick();
        JsonNode ghost = awaitRuns(jobs, "ghost", 1);
        assertEquals("failed", ghost.path("result").asText());
        assertEquals("device disk9 is not attached", ghost.path("message").asText());
        JsonNode unreachable = awaitRuns(jobs, "unreachable", 1);
        assertEquals("failed", unreachable.path("result").asText());
        assertTrue(unreachable.path("message").asText().contains(file.toString()), unreachable.toString());
        assertEquals("ok", awaitRuns(jobs, "good", 1).path("result").asText());
        JsonNode keyless = awaitRuns(jobs, "keyless", 1);
        assertEquals("failed", keyless.path("result").asText());
        assertTrue(keyless.path("message").asText().contains("making one encrypted needs a password or key file"),
                keyless.toString());
        assertTrue(Files.notExists(Path.of(repo("r4"))), "no repository is made unencrypted unasked");
        assertTrue(daemon.engine().collect().isEmpty());

        JsonNode run = verb(jobs, "job_run", args().put("name", "ghost"));
        assertFalse(run.path("ok").asBoolean());
        assertEquals("EIO", run.path("errno").asText());
        assertTrue(run.path("message").asText().endsWith("failed: device disk9 is not attached"), run.toString());
        JsonNode unknown = verb(jobs, "job_run", args().put("name", "nope"));
        assertEquals("EINVAL", unknown.path("errno").asText());
        assertEquals("no job named 'nope'; jobs: ghost, unreachable, good, keyless", unknown.path("message").asText());
        assertEquals("ESRCH", verb(jobs, "job_cancel", args().put("name", "good")).path("errno").asText());
        assertEquals("ok", verb(jobs, "job_run", args().put("name", "good")).path("result").path("result").asText());

        // the backup verb checks what a client other than `jblksnap backup` may send
        ObjectNode badMode = args().put("repo", repo("r5")).put("encryption", "rot13");
        badMode.putArray("devices").add("disk0");
        JsonNode refused = verb(jobs, "backup", badMode);
        assertEquals("EINVAL", refused.path("errno").asText(), refused.toString());
        assertEquals("encryption is aes-256-gcm or none, got 'rot13'", refused.path("message").asText());
        ObjectNode noneWithKey = args().put("repo", repo("r5")).put("encryption", "none").put("password_file", "/pw");
        noneWithKey.putArray("devices").add("disk0");
        assertEquals("encryption none takes no password_file or key_file",
                verb(jobs, "backup", noneWithKey).path("message").asText());
        assertTrue(Files.notExists(Path.of(repo("r5"))), "nothing made");
    }

    @Test
    void badJobsAreRefusedWhenTheConfigLoads() throws Exception {
        String base = "'name': 'j', 'devices': ['disk0'], 'repo': '/srv/r'";
        assertRefused("job j: schedule '0 2 * *' is not a cron schedule (five fields: minute hour day-of-month month "
                + "day-of-week)", "{" + base + ", 'schedule': '0 2 * *', 'keep_last': 1}");
        assertRefused("job j: a retention needs at least one keep rule (keep_last, keep_hourly, keep_daily, keep_weekly, "
                + "keep_monthly, keep_yearly; -1 keeps all)", "{" + base + ", 'schedule': '0 2 * * *'}");
        assertRefused("job j: repo: malformed repository URL 's3:ftp://s3.example/b'", "{'name': 'j', 'devices': "
                + "['disk0'], 'repo': 's3:ftp://s3.example/b', 'schedule': '0 2 * * *', 'keep_last': 1}");
        assertRefused("job j: copy_to: malformed repository URL 's3:ftp://s3.example/b'", "{" + base
                + ", 'schedule': '0 2 * * *', 'keep_last': 1, 'copy_to': 's3:ftp://s3.example/b'}");
        assertRefused("job j: copy_to is the job's own repository", "{" + base + ", 'schedule': '0 2 * * *', "
                + "'keep_last': 1, 'copy_to': '/srv/r/'}");
        assertRefused("job j: copy_password_file and copy_key_file need copy_to", "{" + base + ", 'schedule': "
                + "'0 2 * * *', 'keep_last': 1, 'copy_password_file': '/pw'}");
        assertRefused("job j: verify '61 * * * *' is not a cron schedule", "{" + base + ", 'schedule': '0 2 * * *', "
                + "'keep_last': 1, 'verify': '61 * * * *'}");
        assertRefused("job j: encryption is aes-256-gcm or none, got 'rot13'", "{" + base + ", 'schedule': '0 2 * * *', "
                + "'keep_last': 1, 'encryption': 'rot13'}");
        assertRefused("job j: encryption none takes no password_file or key_file", "{" + base + ", 'schedule': '0 2 * * *', "
                + "'keep_last': 1, 'encryption': 'none', 'password_file': '/pw'}");
        assertRefused("job j: unknown field 'keep_forever'", "{" + base + ", 'schedule': '0 2 * * *', 'keep_forever': 1}");
        assertRefused("job j: no devices", "{'name': 'j', 'devices': [], 'repo': '/r', 'schedule': '0 2 * * *', 'keep_last': 1}");
    }

    /**
     * A config's jobs that are wrong (a schedule that does not parse, no keep rule, a name two
     * jobs have) are refused, each with its line, and the others run: job_list shows the error,
     * job_run and job_cancel answer it, job_history answers.
     */
    @Test
    void aConfigsBadJobsAreRefusedAndItsGoodOnesRun() throws Exception {
        String good = "{'name': 'good', 'devices': ['disk0'], 'repo': '" + repo("r") + "', 'encryption': 'none', "
                + "'schedule': '* * * * *', 'keep_last': 1}";
        String base = "'devices': ['disk0'], 'repo': '" + repo("r2") + "', 'encryption': 'none'";
        Path file = dir.resolve("config.json");
        Files.writeString(file, ("{'jobs': [{'name': 'cronless', " + base + ", 'schedule': 'every night', 'keep_last': 1}, "
                + good + ", {'name': 'keepless', " + base + ", 'schedule': '* * * * *'}, "
                + "{'name': 'twice', " + base + ", 'schedule': '* * * * *', 'keep_last': 1}, "
                + "{'name': 'twice', " + base + ", 'schedule': '0 2 * * *', 'keep_last': 2}]}").replace('\'', '"'));
        DaemonConfig config = DaemonConfig.load(file);
        assertEquals(List.of("good"), config.jobs.stream().map(JobConfig::name).toList());
        assertEquals(List.of("cronless", "keepless", "twice"), List.copyOf(config.refusedJobs.keySet()));
        String cronless = config.refusedJobs.get("cronless");
        assertTrue(cronless.startsWith("config file " + file + ": job cronless: schedule 'every night' is not a cron "
                + "schedule"), cronless);
        assertTrue(config.refusedJobs.get("keepless").startsWith("config file " + file + ": job keepless: a retention "
                + "needs at least one keep rule"), config.refusedJobs.get("keepless"));
        assertEquals("config file " + file + ": two jobs are named twice", config.refusedJobs.get("twice"));

        Jobs jobs = jobs(LoggedProgress::new, config.jobs, config.refusedJobs);
        clock.set("2026-03-10T12:01:00Z");
        jobs.tick();
        assertEquals("ok", awaitRuns(jobs, "good", 1).path("result").asText());
        JsonNode listed = listed(jobs, "cronless");
        assertEquals("refused", listed.path("state").asText(), listed.toString());
        assertEquals(cronless, listed.path("error").asText());
        JsonNode run = verb(jobs, "job_run", args().put("name", "cronless"));
        assertEquals("EINVAL", run.path("errno").asText(), run.toString());
        assertEquals(cronless, run.path("message").asText());
        assertEquals("config file " + file + ": two jobs are named twice",
                verb(jobs, "job_cancel", args().put("name", "twice")).path("message").asText());
        JsonNode keepless = verb(jobs, "job_history", args().put("name", "keepless"));
        assertTrue(keepless.path("ok").asBoolean(), "its runs from before would show: " + keepless);
        assertEquals(0, keepless.path("result").path("runs").size());
        assertEquals(List.of("good"), history(jobs, null).stream().map(r -> r.path("job").asText()).toList());
        assertEquals("ok", verb(jobs, "job_run", args().put("name", "good")).path("result").path("result").asText());
    }

    /**
     * A pre-take hook that fails (a guest that does not freeze) throws ECANCELED, as snapshot_take
     * answers it, with nobody cancelling: the run failed, and the failures metric counts it.
     */
    @Test
    void aFailingPreTakeHookIsAFailedRunNotACancelledOne() throws Exception {
        Jobs jobs = jobs(LoggedProgress::new, List.of(job("{'name': 'nightly', 'devices': ['disk0'], 'repo': '"
                + repo("r") + "', 'encryption': 'none', 'schedule': '0 2 * * *', 'keep_last': 1}")), Map.of(),
                new TakeHookCommands(new TakeHooks.Commands("echo freeze failed >&2; exit 3", null, null)));
        JobRun r = jobs.submit("nightly", Jobs.BACKUP, "manual").result.get(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(JobRun.FAILED, r.result(), r.toString());
        assertEquals(1, jobs.unsuccessful("nightly", Jobs.BACKUP, JobRun.FAILED));
        assertEquals(0, jobs.unsuccessful("nightly", Jobs.BACKUP, JobRun.CANCELLED));
    }

    /**
     * The history keeps the newest {@link JobHistory#KEPT} runs: a restart that drops a job's old
     * failed run still counts it, so jblksnap_job_failures_total never goes down (Prometheus
     * would take that for a reset, and the whole count for new failures).
     */
    @Test
    void theFailureCounterDoesNotGoDownWhenTheHistoryDropsOldRuns() throws Exception {
        Path file = dir.resolve("state/jobs/history.jsonl");
        Files.createDirectories(file.getParent());
        StringBuilder lines = new StringBuilder();
        for (int i = 1; i <= JobHistory.KEPT; i++) {
            Instant t = Instant.parse("2026-01-01T00:00:00Z").plusSeconds(i);
            JobRun r = JobRun.started(i, i == 1 ? "ghost" : "other", Jobs.BACKUP, "schedule", t)
                    .finished(t.plusSeconds(1), i == 1 ? JobRun.FAILED : JobRun.OK, "", 0, 0, List.of());
            lines.append(ControlProtocol.JSON.writeValueAsString(r.toJson())).append('\n');
        }
        Files.writeString(file, lines);
        JobConfig ghost = job("{'name': 'ghost', 'devices': ['disk9'], 'repo': '" + repo("r")
                + "', 'encryption': 'none', 'schedule': '0 2 * * *', 'keep_last': 1}"); // its runs fail at once
        Jobs before = jobs(ghost);
        assertFalse(verb(before, "job_run", args().put("name", "ghost")).path("ok").asBoolean());
        assertEquals(2, before.unsuccessful("ghost", Jobs.BACKUP, JobRun.FAILED));
        before.close();
        started.remove(before);
        Jobs after = jobs(ghost); // the history now holds one run more than it keeps: the oldest goes
        assertEquals(JobHistory.KEPT, history(after, null).size());
        assertEquals(2, after.unsuccessful("ghost", Jobs.BACKUP, JobRun.FAILED), "the dropped run still counts");
        after.close();
        started.remove(after);
        assertEquals(2, jobs(ghost).unsuccessful("ghost", Jobs.BACKUP, JobRun.FAILED), "and after another restart");
    }

    /** A path no file system takes (a NUL in it) refuses its job alone, too. */
    @Test
    void aJobWithAnImpossiblePathIsRefusedAlone() throws Exception {
        String base = "'devices': ['disk0'], 'encryption': 'none', 'schedule': '0 2 * * *', 'keep_last': 1";
        Path file = Files.writeString(dir.resolve("c.json"), ("{'jobs': [{'name': 'j', " + base + ", 'repo': '"
                + repo("r") + "', 'storage': '/tmp/a\\u0000b'}, {'name': 'good', " + base + ", 'repo': '" + repo("r2")
                + "'}]}")
                .replace('\'', '"'));
        DaemonConfig c = DaemonConfig.load(file);
        assertEquals(List.of("good"), c.jobs.stream().map(JobConfig::name).toList());
        assertTrue(c.refusedJobs.get("j").startsWith("config file " + file + ": job j: bad path: "),
                c.refusedJobs.toString());
    }

    /** A config file cut short: one line that says where, without Jackson's source note. */
    @Test
    void aTruncatedConfigFileSaysWhereInOneLine() throws Exception {
        Path file = Files.writeString(dir.resolve("cut.json"), "{\"jobs\": [{\"name\": \"j\"");
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> DaemonConfig.load(file));
        assertEquals("config file " + file + " is not valid JSON: Unexpected end-of-input: expected close marker for"
                + " Object (start marker at line: 1, column: 11) (line 1, column 23)", e.getMessage());
    }

    private void assertRefused(String message, String json) {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> job(json));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }
}
