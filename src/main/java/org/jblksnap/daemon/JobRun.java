package org.jblksnap.daemon;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.jblksnap.control.ControlProtocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One run of a job, as job_history shows it and the history file keeps it.
 *
 * @param run its number, unique in the daemon's state directory
 * @param kind backup (backup, then prune by the job's keep rules) or verify
 * @param trigger schedule, missed (due while the daemon was down) or manual (job_run)
 * @param end null while it runs
 * @param result running, ok, failed or cancelled
 * @param points the points it committed
 */
record JobRun(long run, String job, String kind, String trigger, Instant start, Instant end, String result,
        String message, long readBytes, long storedBytes, List<Long> points) {
    static final String RUNNING = "running";
    static final String OK = "ok";
    static final String FAILED = "failed";
    static final String CANCELLED = "cancelled";

    JobRun {
        points = List.copyOf(points);
    }

    static JobRun started(long run, String job, String kind, String trigger, Instant start) {
        return new JobRun(run, job, kind, trigger, start, null, RUNNING, "", 0, 0, List.of());
    }

    JobRun finished(Instant at, String result, String message, long read, long stored, List<Long> committed) {
        return new JobRun(run, job, kind, trigger, start, at, result, message, read, stored, committed);
    }

    boolean ok() {
        return result.equals(OK);
    }

    ObjectNode toJson() {
        ObjectNode o = ControlProtocol.JSON.createObjectNode().put("run", run).put("job", job).put("kind", kind)
                .put("trigger", trigger).put("start", start.toString()).put("end", end == null ? "" : end.toString())
                .put("result", result).put("message", message).put("read_bytes", readBytes)
                .put("stored_bytes", storedBytes);
        points.forEach(o.putArray("point")::add);
        return o;
    }

    static JobRun fromJson(JsonNode o) {
        List<Long> points = new ArrayList<>();
        o.path("point").forEach(p -> points.add(p.asLong()));
        String end = o.path("end").asText("");
        return new JobRun(o.path("run").asLong(), o.path("job").asText(), o.path("kind").asText(),
                o.path("trigger").asText(), Instant.parse(o.path("start").asText()),
                end.isEmpty() ? null : Instant.parse(end), o.path("result").asText(), o.path("message").asText(),
                o.path("read_bytes").asLong(), o.path("stored_bytes").asLong(), points);
    }
}
