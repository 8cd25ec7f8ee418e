package org.jblksnap.testutil;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The one way tests run another program: a tool (qemu-img, losetup, mkfs), a child JVM on this
 * test's class path (the `jblksnap` command, a host to crash), in the foreground with a time
 * limit or in the background with a log.
 * <p>
 * Output goes to files, not pipes: a tool that daemonizes (qemu-nbd --fork, nbdkit) leaves its
 * server holding the descriptors, and a pipe would then never reach its end. Standard input is
 * /dev/null. PATH gets /usr/sbin and /sbin appended, where losetup, mkfs and blockdev live. On
 * timeout the whole process tree is killed and the test fails with what it printed.
 */
public final class ChildProcess {
    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);
    private static final List<String> SYSTEM_DIRS = List.of("/usr/sbin", "/sbin");

    private final List<String> command;
    private final Map<String, String> environment = new LinkedHashMap<>();
    private final Set<String> unset = new HashSet<>();
    private Path directory;
    private Duration timeout = DEFAULT_TIMEOUT;

    private ChildProcess(List<String> command) {
        // a developer's exported password file would unlock or refuse what a test means to run without one
        unset.add("JBLKSNAP_PASSWORD_FILE");
        this.command = List.copyOf(command);
    }

    /** A program found on PATH (or in /usr/sbin, /sbin), with its arguments. */
    public static ChildProcess of(String... command) {
        return of(List.of(command));
    }

    public static ChildProcess of(List<String> command) {
        return new ChildProcess(command);
    }

    /**
     * A child JVM running main with this test's class path and native access, as the `jblksnap`
     * script starts the program; C1 only, since test children are short and start often.
     */
    public static ChildProcess java(Class<?> main, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        return new ChildProcess(cmd);
    }

    /** Skips the test unless each program is installed (scripts/env.sh ensure_test_tools installs them). */
    public static void assumeInstalled(String... programs) {
        for (String p : programs) {
            assumeTrue(find(p) != null, p + " is not installed (scripts/env.sh ensure_test_tools installs it)");
        }
    }

    private static Path find(String program) {
        for (String dir : path()) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    public ChildProcess in(Path workingDirectory) {
        this.directory = workingDirectory;
        return this;
    }

    public ChildProcess env(String name, String value) {
        unset.remove(name);
        environment.put(name, value);
        return this;
    }

    /** Runs it without that variable of this process's environment. */
    public ChildProcess unsetEnv(String name) {
        unset.add(name);
        environment.remove(name);
        return this;
    }

    public ChildProcess timeout(Duration limit) {
        this.timeout = limit;
        return this;
    }

    /** What a finished program said. */
    public record Result(List<String> command, int exit, String out, String err) {
        public boolean ok() {
            return exit == 0;
        }

        /** Standard output then standard error, for messages and searches. */
        public String all() {
            return out + err;
        }

        /** The key=value lines of standard output as a map (the last value of a repeated key wins). */
        public Map<String, String> values() {
            Map<String, String> m = new LinkedHashMap<>();
            for (String line : out.split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    m.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            return m;
        }

        /** One key=value line's value; fails the test when the program did not print it. */
        public String get(String key) {
            String v = values().get(key);
            if (v == null) {
                throw new AssertionError("no " + key + "= in output:\n" + out + "\nstderr:\n" + err);
            }
            return v;
        }
    }

    /**
     * Runs to the end and returns whatever happened; kills the tree and fails the test on
     * timeout. An interrupt kills the tree too and ends in InterruptedIOException.
     */
    public Result run() throws IOException {
        Path out = Files.createTempFile("child-", ".out");
        Path err = Files.createTempFile("child-", ".err");
        try {
            Process p = builder().redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!waitFor(p)) {
                throw new AssertionError(String.join(" ", command) + " did not finish in " + timeout.toSeconds()
                        + " s; it printed:\n" + Files.readString(out) + Files.readString(err));
            }
            return new Result(command, p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** False when the time limit passed; the tree is killed then, and on an interrupt. */
    private boolean waitFor(Process p) throws InterruptedIOException {
        try {
            if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                return true;
            }
            kill(p);
            return false;
        } catch (InterruptedException e) {
            destroyTree(p);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while running " + String.join(" ", command));
        }
    }

    /** Runs to the end and fails the test unless the program exits 0. */
    public Result check() throws IOException {
        Result r = run();
        if (!r.ok()) {
            throw new AssertionError(String.join(" ", command) + " exited with " + r.exit() + ":\n" + r.all());
        }
        return r;
    }

    /**
     * Starts in the background, both outputs appended to log; the caller ends it (destroy for
     * SIGTERM, or {@link #kill}). The time limit does not apply.
     */
    public Process start(Path log) throws IOException {
        return builder().redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    /** SIGKILL to the process and everything it started, and waits for the process to end. */
    public static void kill(Process p) throws InterruptedException {
        destroyTree(p);
        p.waitFor();
    }

    private static void destroyTree(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    private ProcessBuilder builder() {
        // ProcessBuilder looks a bare name up on this JVM's PATH only, which may lack /usr/sbin
        List<String> cmd = new ArrayList<>(command);
        Path program = cmd.getFirst().contains("/") ? null : find(cmd.getFirst());
        if (program != null) {
            cmd.set(0, program.toString());
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (directory != null) {
            pb.directory(directory.toFile());
        }
        pb.environment().put("PATH", String.join(File.pathSeparator, path()));
        pb.environment().putAll(environment);
        pb.environment().keySet().removeAll(unset);
        return pb;
    }

    private static List<String> path() {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "/usr/bin:/bin")
                .split(File.pathSeparator)));
        for (String d : SYSTEM_DIRS) {
            if (!dirs.contains(d)) {
                dirs.add(d);
            }
        }
        return dirs;
    }
}
