package org.jblksnap.cli;

import java.io.IOException;

import org.jblksnap.control.ControlClient;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The job verbs, answered by the daemon's jobs (its --config): job_list, job_run, job_history,
 * job_cancel. job_run shows the run's progress and prints its result as `backup` does;
 * interrupted (Ctrl-C, SIGTERM), it closes its connection and the daemon cancels that run
 * ({@link FollowedRun}). The verbs are static methods: picocli runs them as verbs of
 * `jblksnap` itself.
 */
final class JobVerbs {
    private JobVerbs() {
    }

    @Command(name = "job_list", mixinStandardHelpOptions = true,
            description = "List the daemon's jobs: devices, repository, schedule, next run, keep rules, state.")
    static int list(@Mixin ClientOptions o) throws IOException {
        return print(o, request(o, "job_list", ControlClient.args()));
    }

    @Command(name = "job_run", mixinStandardHelpOptions = true,
            description = "Run a job now (after the runs queued on its devices) and print its result like backup.")
    static int run(@Mixin ClientOptions o, @Option(names = {"-n", "--name"}, required = true, description = "The job.") String name,
            @Option(names = "--verify", description = "Run the job's verify instead of its backup.") boolean verify)
            throws IOException {
        JsonNode r = FollowedRun.call(o.runDir(), "job_run", ControlClient.args().put("name", name).put("verify", verify),
                "the daemon cancels the run of job " + name);
        ObjectNode shown = (ObjectNode) r.deepCopy();
        shown.remove("report");
        r.path("report").forEach(line -> System.err.println(line.asText()));
        return print(o, shown);
    }

    @Command(name = "job_history", mixinStandardHelpOptions = true,
            description = "List the runs of the jobs (or of one): start, end, result, bytes read and stored, points.")
    static int history(@Mixin ClientOptions o, @Option(names = {"-n", "--name"}, description = "One job.") String name)
            throws IOException {
        ObjectNode a = ControlClient.args();
        if (name != null) {
            a.put("name", name);
        }
        return print(o, request(o, "job_history", a));
    }

    @Command(name = "job_cancel", mixinStandardHelpOptions = true,
            description = "Cancel a job's runs, queued or running (their snapshot destroyed, nothing half-committed).")
    static int cancelVerb(@Mixin ClientOptions o, @Option(names = {"-n", "--name"}, required = true) String name)
            throws IOException {
        return print(o, request(o, "job_cancel", ControlClient.args().put("name", name)));
    }

    private static JsonNode request(ClientOptions o, String verb, ObjectNode args) throws IOException {
        try (ControlClient c = ControlClient.connect(o.runDir())) {
            return c.call(verb, args);
        }
    }

    private static int print(ClientOptions o, JsonNode r) {
        ResultPrinter.print(System.out, r, o.json);
        return 0;
    }
}
