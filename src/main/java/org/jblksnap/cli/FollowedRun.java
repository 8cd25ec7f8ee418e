package org.jblksnap.cli;

import java.io.IOException;
import java.nio.file.Path;

import org.jblksnap.backup.Progress;
import org.jblksnap.control.ControlClient;
import org.jblksnap.control.ProgressEvents;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A long verb the daemon runs for this command (backup, job_run), followed from the terminal:
 * its progress events are shown on stderr as they come, and Ctrl-C (or SIGTERM, the same
 * shutdown path) closes the connection, which makes the daemon cancel that run
 * (docs/CONTROL.md, "Events").
 */
final class FollowedRun {
    private FollowedRun() {
    }

    /** The verb's reply; interrupted, "jblksnap: interrupted; " and cancelled are printed. */
    static JsonNode call(Path runDir, String verb, ObjectNode args, String cancelled) throws IOException {
        Progress progress = Progress.forConsole(System.err);
        try (ControlClient c = ControlClient.connect(runDir)) {
            Thread onInterrupt = new Thread(() -> {
                try {
                    c.close();
                    System.err.println("jblksnap: interrupted; " + cancelled);
                } catch (IOException e) {
                    // exiting anyway
                }
            }, "cancel " + verb);
            Runtime.getRuntime().addShutdownHook(onInterrupt);
            try {
                return c.call(verb, args, event -> ProgressEvents.replay(event, progress));
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(onInterrupt);
                } catch (IllegalStateException e) {
                    // the JVM is exiting: the hook runs or ran
                }
            }
        }
    }
}
