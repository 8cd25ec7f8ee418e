package org.jblksnap.daemon;

import static org.jblksnap.daemon.MetricsScrape.freePort;
import static org.jblksnap.daemon.MetricsScrape.scrape;
import static org.jblksnap.daemon.MetricsScrape.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.jblksnap.control.ControlProtocol;
import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Jobs through the real command: job_run streams the run's progress and prints its result as
 * backup does, an interrupted job_run cancels its run (counted as cancelled, not failed),
 * /metrics shows the run (and passes promtool's check), a daemon killed in the middle of a
 * run reports that run failed when it starts again and the next run works, and bad input is
 * one clear line.
 */
class JobsCliTest {
    @TempDir
    Path dir;
    JblksnapProcess jb;
    Process client;
    Path hookPid;

    @AfterEach
    void tearDown() throws Exception {
        if (client != null) {
            ChildProcess.kill(client);
        }
        killHook();
        if (jb != null) {
            jb.close();
        }
    }

    private void killHook() throws IOException, InterruptedException {
        if (hookPid != null && Files.exists(hookPid)) {
            ChildProcess.of("kill", Files.readString(hookPid).strip()).run();
            Files.delete(hookPid);
        }
    }

    @Test
    void aJobRunsInTheDaemonShowsInMetricsAndSurvivesADaemonKilledMidRun() throws Exception {
        ChildProcess.assumeInstalled("promtool");
        Path disk = dir.resolve("disk0.img");
        byte[] data = new byte[16 << 20];
        new Random(1).nextBytes(data);
        Files.write(disk, data);
        Path gate = dir.resolve("gate");
        Path started = dir.resolve("started");
        hookPid = dir.resolve("hook.pid");
        String hook = "if [ -e " + gate + " ]; then echo $$ > " + hookPid + "; touch " + started + "; exec sleep 300; fi";
        Path config = dir.resolve("config.json");
        String repo = dir.resolve("repo").toString();
        var c = ControlProtocol.JSON.createObjectNode();
        c.putObject("take_hooks").put("pre_take", hook).put("timeout_seconds", 600);
        c.putArray("jobs").addObject().put("name", "nightly").put("repo", repo)
                .put("encryption", "none").put("schedule", "0 2 * * *").put("keep_daily", 7).put("storage", dir.toString())
                .putArray("devices").add("disk0");
        Files.writeString(config, c.toString());
        int port = freePort();
        String[] daemonArgs = {"--config", config.toString(), "--device", "disk0=" + disk, "--metrics", String.valueOf(port)};
        jb = new JblksnapProcess(dir.resolve("run"));
        jb.startDaemon(daemonArgs);

        String before = scrape(port, dir);
        assertTrue(before.contains("jblksnap_device_read_bytes_total{device=\"disk0\"}"), before);
        assertTrue(before.contains("jblksnap_job_next_run_timestamp_seconds{job=\"nightly\"}"), before);
        assertTrue(Double.isNaN(value(before, "jblksnap_job_last_success_timestamp_seconds{job=\"nightly\"}")), before);

        ChildProcess.Result run = jb.ok("job_run", "-n", "nightly");
        assertEquals("ok", run.get("result"), run.out());
        String first = run.get("point");
        assertEquals(List.of(first), jb.points("--repo", repo), "the run committed the point it printed");
        assertEquals("16777216", run.get("read_bytes"));
        assertTrue(run.out().contains("\ndevice=disk0\npoint=" + first + "\nmode="), run.out());
        assertTrue(run.err().contains("backup of disk0: point " + first + " ("), run.err());
        assertTrue(run.err().contains("first backup of disk0: reading everything"), "the run's notes stream back: "
                + run.err());

        String after = scrape(port, dir);
        assertEquals(16 << 20, value(after, "jblksnap_job_last_read_bytes{job=\"nightly\"}"), after);
        assertTrue(value(after, "jblksnap_job_last_stored_bytes{job=\"nightly\"}") > 15 << 20, after);
        double success = value(after, "jblksnap_job_last_success_timestamp_seconds{job=\"nightly\"}");
        assertTrue(Math.abs(success - System.currentTimeMillis() / 1e3) < 600, after);
        assertEquals(0, value(after, "jblksnap_job_failures_total{job=\"nightly\"}"), after);
        assertEquals(0, value(after, "jblksnap_job_cancellations_total{job=\"nightly\"}"), after);

        // interrupted (SIGTERM, Ctrl-C's path) while its pre-take hook holds it: the daemon cancels that run
        Files.createFile(gate);
        client = jb.start(dir.resolve("interrupted.log"), "job_run", "-n", "nightly", "--run-dir", jb.runDir().toString());
        Await.until(Duration.ofSeconds(120), () -> Files.exists(started) && Files.exists(hookPid),
                () -> "the run did not reach its hook:\n" + jb.daemonLog());
        client.destroy();
        assertTrue(client.waitFor(60, TimeUnit.SECONDS), "job_run ends when interrupted");
        client = null;
        Await.until(Duration.ofSeconds(60), () -> jb.daemonLog().contains("the client of job_run went away"),
                () -> "the daemon did not see the client go:\n" + jb.daemonLog());
        killHook(); // if the cancel left it running: the cancelled run takes no snapshot, or destroys it
        Await.until(Duration.ofSeconds(60), () -> "idle".equals(jobState()), () -> "the run was not cancelled:\n"
                + jb.daemonLog());
        JsonNode cancelled = ControlProtocol.JSON.readTree(jb.ok("job_history", "-n", "nightly", "-j").out())
                .path("runs").get(1);
        assertEquals(JobRun.CANCELLED, cancelled.path("result").asText(), cancelled.toString());
        assertTrue(jb.ok("snapshot_collect").out().isBlank(), "no snapshot left");
        String afterCancel = scrape(port, dir);
        assertEquals(0, value(afterCancel, "jblksnap_job_failures_total{job=\"nightly\"}"), "a cancel is no failure:\n"
                + afterCancel);
        assertEquals(1, value(afterCancel, "jblksnap_job_cancellations_total{job=\"nightly\"}"), afterCancel);
        Files.delete(gate);
        Files.delete(started);

        // killed in the middle of a run: its pre-take hook holds it there
        Files.createFile(gate);
        client = jb.start(dir.resolve("client.log"), "job_run", "-n", "nightly", "--run-dir", jb.runDir().toString());
        Await.until(Duration.ofSeconds(120), () -> Files.exists(started) && Files.exists(hookPid),
                () -> "the run did not reach its hook:\n" + jb.daemonLog());
        assertEquals("running", jobState());
        jb.killDaemon();
        assertTrue(client.waitFor(60, TimeUnit.SECONDS), "job_run ends when its daemon dies");
        assertNotEquals(0, client.exitValue());
        client = null;
        killHook();
        Files.delete(gate);

        jb.startDaemon(daemonArgs);
        JsonNode history = ControlProtocol.JSON.readTree(jb.ok("job_history", "-n", "nightly", "-j").out());
        assertEquals(3, history.path("runs").size(), history.toString());
        JsonNode cut = history.path("runs").get(2);
        assertEquals("failed", cut.path("result").asText());
        assertEquals(JobHistory.CUT_OFF, cut.path("message").asText());
        String restarted = scrape(port, dir);
        assertEquals(1, value(restarted, "jblksnap_job_failures_total{job=\"nightly\"}"), "the run cut off:\n" + restarted);
        assertEquals(1, value(restarted, "jblksnap_job_cancellations_total{job=\"nightly\"}"), "the cancelled run, from "
                + "the history:\n" + restarted);
        assertEquals(List.of(first), jb.points("--repo", repo),
                "the cancelled run and the one cut off committed nothing");
        ChildProcess.Result next = jb.ok("job_run", "-n", "nightly");
        assertEquals("ok", next.get("result"), next.out());
        assertNotEquals(first, next.get("point"));
        assertEquals(next.get("point"), jb.points("--repo", repo).getLast(), "the run committed the point it printed");
        assertEquals("idle", jobState());
        assertTrue(jb.ok("snapshot_collect").out().isBlank(), "no snapshot left");

        ChildProcess.Result unknown = jb.run("job_run", "-n", "weekly");
        assertEquals(22, unknown.exit());
        assertEquals(List.of("jblksnap: no job named 'weekly'; jobs: nightly (EINVAL)"), unknown.err().lines().toList());
    }

    private String jobState() throws Exception {
        return ControlProtocol.JSON.readTree(jb.ok("job_list", "-j").out()).path("jobs").get(0).path("state").asText();
    }

    /**
     * A job with a schedule that does not parse is refused with one line, in the daemon's log,
     * job_list and job_run's answer, and the daemon runs its other jobs; a job naming a device
     * not attached fails its runs until the device is attached.
     */
    @Test
    void aDaemonRefusesItsBadJobsAndRunsTheOthers() throws Exception {
        Path disk0 = dir.resolve("disk0.img");
        Path disk1 = dir.resolve("disk1.img");
        for (Path d : List.of(disk0, disk1)) {
            Files.write(d, new byte[1 << 20]);
        }
        Path config = dir.resolve("config.json");
        var c = ControlProtocol.JSON.createObjectNode();
        var jobs = c.putArray("jobs");
        for (String name : List.of("cronless", "good", "later")) {
            jobs.addObject().put("name", name).put("repo", dir.resolve("repo-" + name).toString())
                    .put("encryption", "none").put("schedule", name.equals("cronless") ? "every night" : "0 2 * * *")
                    .put("keep_last", 1).put("storage", dir.toString())
                    .putArray("devices").add(name.equals("later") ? "disk1" : "disk0");
        }
        Files.writeString(config, c.toString());
        jb = new JblksnapProcess(dir.resolve("run"));
        int port = freePort();
        jb.startDaemon("--config", config.toString(), "--device", "disk0=" + disk0, "--metrics", "127.0.0.1:" + port);

        String refused = "config file " + config + ": job cronless: schedule 'every night' is not a cron schedule";
        String metrics = scrape(port, dir);
        assertEquals(1, value(metrics, "jblksnap_job_refused{job=\"cronless\"}"), metrics);
        assertTrue(!metrics.contains("jblksnap_job_refused{job=\"good\"}"), metrics);
        List<String> logged = jb.daemonLog().lines().filter(l -> l.contains(refused)).toList();
        assertEquals(1, logged.size(), jb.daemonLog());
        assertTrue(logged.get(0).endsWith("; the job is refused, the other jobs run"), logged.get(0));
        JsonNode listed = ControlProtocol.JSON.readTree(jb.ok("job_list", "-j").out()).path("jobs");
        assertEquals("good", listed.get(0).path("job").asText(), listed.toString());
        assertEquals("cronless", listed.get(2).path("job").asText(), listed.toString());
        assertEquals("refused", listed.get(2).path("state").asText());
        assertTrue(listed.get(2).path("error").asText().startsWith(refused), listed.toString());
        ChildProcess.Result run = jb.run("job_run", "-n", "cronless");
        assertEquals(22, run.exit(), run.all());
        assertEquals(1, run.err().lines().count(), run.err());
        assertTrue(run.err().startsWith("jblksnap: " + refused), run.err());

        assertEquals("ok", jb.ok("job_run", "-n", "good").get("result"));
        ChildProcess.Result detached = jb.run("job_run", "-n", "later");
        assertEquals(List.of("jblksnap: job later: backup run 2 failed: device disk1 is not attached (EIO)"),
                detached.err().lines().toList());
        jb.ok("attach", "-d", "disk1", "-p", disk1.toString());
        assertEquals("ok", jb.ok("job_run", "-n", "later").get("result"));
    }

    /** A config file that is not JSON, or a job with no name, refuses the whole file with one line. */
    @Test
    void aConfigFileThatIsNotJsonOrHasAJobWithNoNameStopsTheDaemonWithOneLine() throws Exception {
        Path notJson = dir.resolve("not-json.json");
        Files.writeString(notJson, "{\"jobs\": [{\"name\": \"j\",, }]}");
        Path nameless = dir.resolve("nameless.json");
        Files.writeString(nameless, "{\"jobs\": [{\"devices\": [\"d\"], \"repo\": \"/r\", \"schedule\": \"0 2 * * *\","
                + " \"keep_last\": 1}]}");
        jb = new JblksnapProcess(dir.resolve("run"));
        assertRefusedWhole(notJson, "config file " + notJson + " is not valid JSON: Unexpected character (',' (code 44)):"
                + " was expecting double-quote to start field name (line 1, column 24)");
        assertRefusedWhole(nameless, "config file " + nameless + ": a job needs a name of letters, digits, '.', '_' and '-',"
                + " got none");
    }

    private void assertRefusedWhole(Path config, String error) throws Exception {
        ChildProcess.Result r = jb.run("daemon", "--run-dir", dir.resolve("run").toString(), "--config", config.toString());
        assertEquals(22, r.exit(), r.all());
        assertEquals(List.of("jblksnap: " + error + " (EINVAL)"), r.err().lines().toList());
    }
}
