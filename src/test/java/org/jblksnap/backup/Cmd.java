package org.jblksnap.backup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs an external tool for a test and fails with its output when it fails. */
public final class Cmd {
    private Cmd() {
    }

    public static String run(String... args) throws IOException, InterruptedException {
        return run(List.of(args));
    }

    public static String run(List<String> args) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", args) + ": timed out");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", args) + ": exit " + p.exitValue() + ": " + text);
        }
        return text;
    }
}
