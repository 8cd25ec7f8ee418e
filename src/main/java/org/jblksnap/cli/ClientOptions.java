package org.jblksnap.cli;

import java.nio.file.Path;

import picocli.CommandLine.Option;

/** Options every client verb takes. */
final class ClientOptions {
    @Option(names = "--run-dir", description = "The daemon's run directory (default: $JBLKSNAP_RUN_DIR or /run/jblksnap).")
    Path runDir;

    @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
    boolean json;

    Path runDir() {
        return runDir != null ? runDir : defaultRunDir();
    }

    static Path defaultRunDir() {
        String env = System.getenv("JBLKSNAP_RUN_DIR");
        return Path.of(env != null && !env.isBlank() ? env : "/run/jblksnap");
    }
}
