package org.jblksnap.fuse;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the system tools jblksnap drives (losetup, fusermount3 and umount for the FUSE exports,
 * mkfs.ext4, debugfs and e2fsck for `jblksnap demo`) and the user's take hooks: stdin from /dev/null, both outputs captured (the first 64 KiB of each), a timeout after
 * which the command and every process it started are killed.
 */
public final class SystemTools {
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(120);
    private static final int MAX_OUTPUT = 64 << 10;
    /** How long the output pipes may stay open after the command ended (a child it left running). */
    private static final long DRAIN_AFTER_EXIT_SECONDS = 5;

    /** What a finished command said. */
    public record Result(List<String> command, int exit, String out, String err) {
        public boolean ok() {
            return exit == 0;
        }

        /** One line for an error message: the command and what it printed on stderr. */
        public String describe() {
            String why = err.isBlank() ? out.strip() : err.strip();
            return String.join(" ", command) + " exited with " + exit + (why.isEmpty() ? "" : ": " + why);
        }
    }

    /** A command that did not finish in time; it and its children were killed. */
    public static final class TimedOutException extends IOException {
        TimedOutException(String message) {
            super(message);
        }
    }

    private SystemTools() {
    }

    public static Result run(String... command) throws IOException {
        return run(TOOL_TIMEOUT, Map.of(), command);
    }

    /** Runs the command with these variables added to the environment. */
    public static Result run(Duration timeout, Map<String, String> env, String... command) throws IOException {
        List<String> cmd = List.of(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().putAll(env);
        Process p = pb.start();
        // Both pipes are drained at once so a chatty tool cannot block on a full one.
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()), Thread::startVirtualThread);
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()), Thread::startVirtualThread);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                throw new TimedOutException(String.join(" ", cmd) + " did not finish within " + timeout.toSeconds()
                        + " s and was killed");
            }
            return new Result(cmd, p.exitValue(), output(out), output(err));
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", cmd), e);
        }
    }

    /** Runs the command and fails with its stderr when it exits non-zero. */
    public static Result check(String... command) throws IOException {
        Result r = run(command);
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
        return r;
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    private static String output(CompletableFuture<String> f) throws IOException, InterruptedException {
        try {
            return f.get(DRAIN_AFTER_EXIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            return "(output still open: a process it started holds it)";
        } catch (ExecutionException e) {
            throw new IOException("reading the output of a command failed", e.getCause());
        }
    }

    /** The first MAX_OUTPUT bytes; the rest is read and dropped so the writer never blocks. */
    private static String drain(InputStream in) {
        try (in) {
            byte[] kept = in.readNBytes(MAX_OUTPUT);
            in.transferTo(OutputStream.nullOutputStream());
            return new String(kept, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
