package org.jblksnap.fuse;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Runs the system tools jblksnap drives: losetup, fusermount3 and umount for the FUSE exports,
 * mkfs.ext4, debugfs and e2fsck for `jblksnap demo`. Standard input is /dev/null; a tool that
 * does not finish in time is killed with everything it started.
 */
public final class SystemTools {
    private static final long TIMEOUT_SECONDS = 120;

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

    private SystemTools() {
    }

    public static Result run(String... command) throws IOException {
        List<String> cmd = List.of(command);
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        // Both pipes are drained while the tool runs so a chatty one cannot block on a full pipe.
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()),
                Thread::startVirtualThread);
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()),
                Thread::startVirtualThread);
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                destroyTree(p);
                throw new IOException(String.join(" ", cmd) + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            return new Result(cmd, p.exitValue(), out.get(), err.get());
        } catch (InterruptedException e) {
            destroyTree(p);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", cmd), e);
        } catch (ExecutionException e) {
            throw new IOException("reading the output of " + String.join(" ", cmd) + " failed", e.getCause());
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

    private static void destroyTree(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    private static String drain(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
