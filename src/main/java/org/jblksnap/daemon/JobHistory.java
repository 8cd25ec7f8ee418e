package org.jblksnap.daemon;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Logger;

import org.jblksnap.control.ControlProtocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The runs of the daemon's jobs, kept in {@code jobs/history.jsonl} of the state directory:
 * one JSON line when a run starts and one when it ends, with the same run number, the later
 * line winning; each line is made durable before the run goes on. A run whose start line has
 * no end line was cut off by a daemon that stopped without finishing it (killed, crashed,
 * the machine lost power): loading records it as failed, so job_history and the metrics show
 * it. Loading also rewrites the file (atomically) with one line per run, the newest
 * {@link #KEPT} runs, after a first line {@code {"trimmed": {"JOB/KIND/RESULT": N, ...}}} that
 * counts the failed and cancelled runs dropped so far, so that the metrics' counters of those
 * never go down across a restart. (A daemon before that line skips it with a warning.)
 */
final class JobHistory {
    private static final Logger LOG = Logger.getLogger(JobHistory.class.getName());
    static final int KEPT = 1000;
    static final String CUT_OFF = "the daemon stopped during the run";

    private final Path file;
    private final TreeMap<Long, JobRun> runs = new TreeMap<>();
    /** The failed and cancelled runs no longer kept, by {@link #tally} key. */
    private final Map<String, Long> trimmed = new TreeMap<>();

    private JobHistory(Path file) {
        this.file = file;
    }

    /** Reads the history; runs cut off are recorded as failed, ended at their start. */
    static JobHistory load(Path dir) throws IOException {
        Files.createDirectories(dir);
        JobHistory h = new JobHistory(dir.resolve("history.jsonl"));
        if (Files.exists(h.file)) {
            int lineNo = 0;
            for (String line : Files.readAllLines(h.file, StandardCharsets.UTF_8)) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    JsonNode node = ControlProtocol.JSON.readTree(line);
                    if (node.has("trimmed")) {
                        node.get("trimmed").properties().forEach(e -> h.trimmed.put(e.getKey(), e.getValue().asLong()));
                        continue;
                    }
                    JobRun r = JobRun.fromJson(node);
                    h.runs.put(r.run(), r);
                } catch (IOException | RuntimeException e) {
                    // a line torn by a crash while it was appended: that run's other line stands
                    LOG.warning(h.file + " line " + lineNo + " is not a run (" + e.getMessage() + "): skipped");
                }
            }
        }
        for (JobRun r : List.copyOf(h.runs.values())) {
            if (r.result().equals(JobRun.RUNNING)) {
                JobRun failed = r.finished(r.start(), JobRun.FAILED, CUT_OFF, 0, 0, List.of());
                h.runs.put(r.run(), failed);
                LOG.warning("job " + r.job() + ": run " + r.run() + " of " + r.start() + " failed: " + CUT_OFF);
            }
        }
        while (h.runs.size() > KEPT) {
            JobRun dropped = h.runs.pollFirstEntry().getValue();
            if (!dropped.ok()) {
                h.trimmed.merge(tally(dropped.job(), dropped.kind(), dropped.result()), 1L, Long::sum);
            }
        }
        h.rewrite();
        return h;
    }

    /** A new run, recorded as running. */
    synchronized JobRun start(String job, String kind, String trigger, Instant at) throws IOException {
        JobRun r = JobRun.started(runs.isEmpty() ? 1 : runs.lastKey() + 1, job, kind, trigger, at);
        record(r);
        return r;
    }

    /** A run's new state (its end). */
    synchronized void record(JobRun r) throws IOException {
        runs.put(r.run(), r);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.wrap(line(r)));
            ch.force(false);
        }
    }

    /** How the failed and cancelled runs are counted: by job, kind and result. */
    static String tally(String job, String kind, String result) {
        return job + "/" + kind + "/" + result;
    }

    /** The failed and cancelled runs no longer kept, by {@link #tally} key. */
    synchronized Map<String, Long> trimmed() {
        return Map.copyOf(trimmed);
    }

    /** The runs, oldest first; of one job when job is not null. */
    synchronized List<JobRun> list(String job) {
        return runs.values().stream().filter(r -> job == null || r.job().equals(job)).toList();
    }

    private void rewrite() throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            List<byte[]> lines = new ArrayList<>();
            if (!trimmed.isEmpty()) {
                ObjectNode t = ControlProtocol.JSON.createObjectNode();
                trimmed.forEach(t.putObject("trimmed")::put);
                lines.add(line(t));
            }
            for (JobRun r : runs.values()) {
                lines.add(line(r));
            }
            for (byte[] l : lines) {
                ch.write(ByteBuffer.wrap(l));
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static byte[] line(JobRun r) throws IOException {
        return line(r.toJson());
    }

    private static byte[] line(JsonNode json) throws IOException {
        return (ControlProtocol.JSON.writeValueAsString(json) + "\n").getBytes(StandardCharsets.UTF_8);
    }
}
