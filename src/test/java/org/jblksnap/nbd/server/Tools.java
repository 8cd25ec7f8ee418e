package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real NBD clients (and other programs) as subprocesses, with a time limit. */
final class Tools {
    private Tools() {
    }

    /** What a finished program said. */
    record Result(int exit, String out, String err) {
        String all() {
            return out + err;
        }
    }

    /** Skips the test when a program is missing (scripts/env.sh ensure_test_tools installs them). */
    static void require(String... programs) {
        for (String p : programs) {
            assumeTrue(onPath(p), p + " is not installed (scripts/env.sh ensure_test_tools installs it)");
        }
    }

    static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        for (String dir : List.of("/usr/sbin", "/sbin")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    /** Runs and returns whatever happened; the process is killed after timeoutSeconds. */
    static Result run(Path workDir, int timeoutSeconds, String... command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(workDir, "out-", ".txt");
        Path err = Files.createTempFile(workDir, "err-", ".txt");
        List<String> cmd = new ArrayList<>(Arrays.asList(command));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin");
        pb.environment().put("LIBNBD_DEBUG", "0");
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            fail(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s; output:\n" + Files.readString(out)
                    + Files.readString(err));
        }
        Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    /** Runs and fails the test unless the program exits 0; returns its standard output. */
    static String ok(Path workDir, int timeoutSeconds, String... command) throws IOException, InterruptedException {
        Result r = run(workDir, timeoutSeconds, command);
        if (r.exit() != 0) {
            fail(String.join(" ", command) + " exited " + r.exit() + ":\n" + r.all());
        }
        return r.out();
    }
}
