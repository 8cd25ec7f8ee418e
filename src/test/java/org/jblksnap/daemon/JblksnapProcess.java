package org.jblksnap.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jblksnap.cli.Main;
import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.ChildProcess;

/**
 * Runs the real `jblksnap` program in child JVMs, with this test's class path: a daemon in
 * the background (stopped by pid), and client verbs that return their exit code and output.
 */
public final class JblksnapProcess implements AutoCloseable {
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

    /** Starts the daemon with these extra options and waits until its control socket answers. */
    public void startDaemon(String... options) throws Exception {
        List<String> args = new ArrayList<>(List.of("daemon", "--run-dir", runDir.toString()));
        args.addAll(List.of(options));
        Process started = jblksnap(args).start(log);
        daemon = started;
        Await.until(Duration.ofSeconds(30), () -> {
            if (!started.isAlive()) {
                throw new AssertionError("daemon exited with " + started.exitValue() + ":\n" + daemonLog());
            }
            return Files.exists(runDir.resolve("control.sock")) && run("snapshot_collect").ok();
        }, () -> "daemon did not start:\n" + daemonLog());
    }

    public String daemonLog() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
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
        ChildProcess.kill(daemon);
        daemon = null;
    }

    /** Runs a client verb against this daemon. */
    public ChildProcess.Result run(String... args) throws IOException, InterruptedException {
        return jblksnap(withRunDir(args)).run();
    }

    /** Runs a command that does not talk to the daemon (restore, verify, prune, points): no --run-dir. */
    public ChildProcess.Result runAlone(String... args) throws IOException, InterruptedException {
        return jblksnap(List.of(args)).run();
    }

    /** Runs a command that must succeed, without --run-dir. */
    public ChildProcess.Result okAlone(String... args) throws IOException, InterruptedException {
        return mustSucceed(args, runAlone(args));
    }

    /**
     * The numbers of the points `points` lists with these options (--repo and keys), in its
     * order (oldest first); it must succeed. Point numbers are chosen at random ({@code PointIds}):
     * a test takes them from here or from a backup's point= line, never assumes 1, 2, 3.
     */
    public List<String> points(String... options) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("points"));
        args.addAll(List.of(options));
        return okAlone(args.toArray(String[]::new)).out().lines().filter(l -> l.startsWith("point="))
                .map(l -> l.substring("point=".length()).split(" ")[0]).toList();
    }

    /**
     * Starts a long-running command (such as serve) without --run-dir, its output appended
     * to the file; the caller stops it by its pid (Process.destroy).
     */
    public Process start(Path output, String... args) throws IOException {
        return jblksnap(List.of(args)).start(output);
    }

    private static ChildProcess jblksnap(List<String> args) {
        return ChildProcess.java(Main.class, args.toArray(String[]::new));
    }

    private List<String> withRunDir(String... args) {
        List<String> full = new ArrayList<>(List.of(args));
        if (full.isEmpty() || !full.getFirst().equals("daemon")) {
            full.add("--run-dir");
            full.add(runDir.toString());
        }
        return full;
    }

    /** Runs a verb that must succeed. */
    public ChildProcess.Result ok(String... args) throws IOException, InterruptedException {
        return mustSucceed(args, run(args));
    }

    private static ChildProcess.Result mustSucceed(String[] args, ChildProcess.Result r) {
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
        String out = ChildProcess.of(cmd).check().all();
        if (out.contains("failed") || out.contains("error")) {
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
