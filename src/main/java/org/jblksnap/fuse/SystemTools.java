package org.jblksnap.fuse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Runs the system tools this package drives (losetup, fusermount3, umount). */
final class SystemTools {
    private static final long TIMEOUT_SECONDS = 60;

    /** What a finished command said. */
    record Result(List<String> command, int exit, String out, String err) {
        boolean ok() {
            return exit == 0;
        }

        /** One line for an error message: the command and what it printed on stderr. */
        String describe() {
            String why = err.isBlank() ? out.strip() : err.strip();
            return String.join(" ", command) + " exited with " + exit + (why.isEmpty() ? "" : ": " + why);
        }
    }

    private SystemTools() {
    }

    static Result run(String... command) throws IOException {
        List<String> cmd = List.of(command);
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        // Both pipes are drained at once so a chatty tool cannot block on a full one.
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()),
                Thread::startVirtualThread);
        String out = drain(p.getInputStream());
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            return new Result(cmd, p.exitValue(), out, err.get());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", cmd), e);
        } catch (ExecutionException e) {
            throw new IOException("reading the output of " + String.join(" ", cmd) + " failed", e.getCause());
        }
    }

    /** Runs the command and fails with its stderr when it exits non-zero. */
    static Result check(String... command) throws IOException {
        Result r = run(command);
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
        return r;
    }

    private static String drain(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
