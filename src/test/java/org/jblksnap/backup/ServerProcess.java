package org.jblksnap.backup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.jblksnap.nbd.client.NbdAddress;

/**
 * An NBD server for a test (qemu-nbd or nbdkit) that daemonizes once its Unix socket in the
 * test's directory is ready, and is stopped by the pid it wrote.
 */
public final class ServerProcess implements AutoCloseable {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private final NbdAddress address;
    private final long pid;

    private ServerProcess(NbdAddress address, long pid) {
        this.address = address;
        this.pid = pid;
    }

    /** qemu-nbd on an image: {@code qemu-nbd -f FORMAT -k SOCK --fork --pid-file PID EXTRA... IMAGE}. */
    public static ServerProcess qemuNbd(Path dir, Path image, String format, String... extra)
            throws IOException, InterruptedException {
        int n = SEQ.incrementAndGet();
        Path sock = dir.resolve("q" + n + ".sock");
        Path pid = dir.resolve("q" + n + ".pid");
        List<String> cmd = new ArrayList<>(List.of("qemu-nbd", "-f", format, "-k", sock.toString(), "-t",
                "--fork", "--pid-file=" + pid));
        cmd.addAll(List.of(extra));
        cmd.add(image.toString());
        return start(cmd, new NbdAddress.Unix(sock), pid);
    }

    /** qemu-nbd on TCP at 127.0.0.1:port: {@code qemu-nbd -f FORMAT -b 127.0.0.1 -p PORT ... EXTRA... IMAGE}. */
    public static ServerProcess qemuNbdTcp(Path dir, int port, Path image, String format, String... extra)
            throws IOException, InterruptedException {
        Path pid = dir.resolve("qt" + SEQ.incrementAndGet() + ".pid");
        List<String> cmd = new ArrayList<>(List.of("qemu-nbd", "-f", format, "-b", "127.0.0.1", "-p",
                Integer.toString(port), "-t", "--fork", "--pid-file=" + pid));
        cmd.addAll(List.of(extra));
        cmd.add(image.toString());
        return start(cmd, new NbdAddress.Tcp("127.0.0.1", port), pid);
    }

    /** nbdkit with a plugin (and filters): {@code nbdkit -U SOCK -P PID ARGS...}. */
    public static ServerProcess nbdkit(Path dir, String... args) throws IOException, InterruptedException {
        int n = SEQ.incrementAndGet();
        Path sock = dir.resolve("k" + n + ".sock");
        Path pid = dir.resolve("k" + n + ".pid");
        List<String> cmd = new ArrayList<>(List.of("nbdkit", "-U", sock.toString(), "-P", pid.toString()));
        cmd.addAll(List.of(args));
        return start(cmd, new NbdAddress.Unix(sock), pid);
    }

    /** nbdkit on TCP at 127.0.0.1:port. */
    public static ServerProcess nbdkitTcp(Path dir, int port, String... args) throws IOException, InterruptedException {
        Path pid = dir.resolve("t" + SEQ.incrementAndGet() + ".pid");
        List<String> cmd = new ArrayList<>(List.of("nbdkit", "-i", "127.0.0.1", "-p", Integer.toString(port),
                "-P", pid.toString()));
        cmd.addAll(List.of(args));
        return start(cmd, new NbdAddress.Tcp("127.0.0.1", port), pid);
    }

    /** Runs the daemonizing command; the pid file appears once the server listens. */
    private static ServerProcess start(List<String> cmd, NbdAddress address, Path pidFile)
            throws IOException, InterruptedException {
        Cmd.run(cmd);
        for (int i = 0; i < 500 && !(Files.exists(pidFile) && Files.size(pidFile) > 0); i++) {
            Thread.sleep(10);
        }
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        return new ServerProcess(address, pid);
    }

    public NbdAddress address() {
        return address;
    }

    /** SIGTERM, then up to 5 s for the server to exit (SIGKILL after that). */
    @Override
    public void close() {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty()) {
            return;
        }
        h.get().destroy();
        try {
            h.get().onExit().get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            h.get().destroyForcibly();
        }
    }
}
