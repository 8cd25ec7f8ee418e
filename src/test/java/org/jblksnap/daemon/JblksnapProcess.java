package org.jblksnap.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real `jblksnap` program in child JVMs, with this test's class path: a daemon in
 * the background (stopped by pid), and client verbs that return their exit code and output.
 */
public final class JblksnapProcess implements AutoCloseable {
    private static final String JAVA = ProcessHandle.current().info().command().orElse("java");

    private final Path runDir;
    private final Path log;
    private Process daemon;

    public JblksnapProcess(Path runDir) {
        this.runDir = runDir;
        this.log = runDir.resolveSibling(runDir.getFileName() + ".log");
    }

    public Path runDir() {
        return runDir;
    }

    /** What a client verb did. */
    public record Result(int exit, String out, String err) {
        /** The key=value lines as a map (the last value of a repeated key wins). */
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

        public String get(String key) {
            String v = values().get(key);
            if (v == null) {
                throw new AssertionError("no " + key + "= in output:\n" + out + "\nstderr:\n" + err);
            }
            return v;
        }
    }

    private static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(JAVA, "--enable-native-access=ALL-UNNAMED", "-Xshare:auto",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "org.jblksnap.cli.Main"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Starts the daemon with these extra options and waits until its control socket answers. */
    public void startDaemon(String... options) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("daemon", "--run-dir", runDir.toString()));
        args.addAll(List.of(options));
        daemon = new ProcessBuilder(command(args.toArray(String[]::new))).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!daemon.isAlive()) {
                throw new AssertionError("daemon exited with " + daemon.exitValue() + ":\n" + daemonLog());
            }
            if (Files.exists(runDir.resolve("control.sock")) && run("snapshot_collect").exit() == 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("daemon did not start:\n" + daemonLog());
    }

    public String daemonLog() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    public long daemonPid() {
        return daemon.pid();
    }

    /** SIGTERM and wait for a clean exit. */
    public int stopDaemon() throws InterruptedException {
        daemon.destroy();
        if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
            daemon.destroyForcibly().waitFor();
            throw new AssertionError("daemon did not stop within 30 s of SIGTERM");
        }
        int code = daemon.exitValue();
        daemon = null;
        return code;
    }

    /** SIGKILL: a crash. */
    public void killDaemon() throws InterruptedException {
        daemon.destroyForcibly();
        daemon.waitFor();
        daemon = null;
    }

    /** Runs a client verb against this daemon. */
    public Result run(String... args) throws IOException, InterruptedException {
        return exec(withRunDir(args));
    }

    /** Runs a command that does not talk to the daemon (restore, verify, prune, points): no --run-dir. */
    public Result runAlone(String... args) throws IOException, InterruptedException {
        return exec(List.of(args));
    }

    /** Runs a command that must succeed, without --run-dir. */
    public Result okAlone(String... args) throws IOException, InterruptedException {
        return mustSucceed(args, runAlone(args));
    }

    /**
     * Starts a long-running command (such as serve) without --run-dir, its output appended
     * to the file; the caller stops it by its pid (Process.destroy).
     */
    public Process start(Path output, String... args) throws IOException {
        return new ProcessBuilder(command(args)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile())).start();
    }

    private List<String> withRunDir(String... args) {
        List<String> full = new ArrayList<>(List.of(args));
        if (full.isEmpty() || !full.getFirst().equals("daemon")) {
            full.add("--run-dir");
            full.add(runDir.toString());
        }
        return full;
    }

    private static Result exec(List<String> full) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command(full.toArray(String[]::new))).start();
        p.getOutputStream().close();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("jblksnap " + full + " hung");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err.join(), StandardCharsets.UTF_8));
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a verb that must succeed. */
    public Result ok(String... args) throws IOException, InterruptedException {
        return mustSucceed(args, run(args));
    }

    private static Result mustSucceed(String[] args, Result r) {
        if (r.exit() != 0) {
            throw new AssertionError("jblksnap " + String.join(" ", args) + " failed with " + r.exit() + ": " + r.err());
        }
        return r;
    }

    /** Runs qemu-io on an export of this daemon with these commands; fails on an error. */
    public String qemuIo(String export, String... commands) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        cmd.add("nbd+unix:///" + export + "?socket=" + runDir.resolve("nbd.sock"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0 || out.contains("failed") || out.contains("error")) {
            throw new AssertionError(String.join(" ", cmd) + ":\n" + out);
        }
        return out;
    }

    @Override
    public void close() throws InterruptedException {
        if (daemon != null) {
            stopDaemon();
        }
    }
}
