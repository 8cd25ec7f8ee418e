package org.jblksnap.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.jblksnap.testutil.Await;
import org.jblksnap.testutil.ChildProcess;

/**
 * One QEMU guest booted from a {@link GuestImage} with one virtio disk; its console
 * goes to a file the test reads, and a virtio-serial port is a Unix socket on the host (the
 * guest agent's channel; a second UART loses and echoes bytes each time the host connects).
 * Stopped by its pid.
 *
 * <p>It runs under QEMU's software emulation (TCG) unless {@code JBLKSNAP_VM_ACCEL=kvm}: on
 * the machines this project is built on (Firecracker guests) {@code /dev/kvm} exists, but a
 * nested KVM guest hangs right after the kernel's boot stub ("Probing EDD ... ok", then
 * nothing for minutes), while the same kernel and initramfs boot under TCG in about 10 s.
 */
final class Vm implements AutoCloseable {
    final Path console;
    final Path agentSocket;
    private final Process qemu;

    private Vm(Path console, Path agentSocket, Process qemu) {
        this.console = console;
        this.agentSocket = agentSocket;
        this.qemu = qemu;
    }

    /** Boots a guest in this mode ({@code writer} or {@code check}) on a QEMU drive (a file or an NBD URI). */
    static Vm boot(GuestImage image, Path work, String name, String drive, String mode) throws IOException {
        Path console = work.resolve(name + ".console");
        Path agent = work.resolve(name + ".agent");
        String accel = System.getenv().getOrDefault("JBLKSNAP_VM_ACCEL", "tcg");
        List<String> cmd = List.of("qemu-system-x86_64", "-accel", accel, "-m", "256", "-smp", "1",
                "-display", "none", "-monitor", "none", "-no-reboot", "-nodefaults",
                "-kernel", image.kernel.toString(), "-initrd", image.initramfs.toString(),
                "-append", "console=ttyS0 panic=-1 quiet jb=" + mode,
                "-drive", "file=" + drive + ",format=raw,if=virtio,cache=none",
                "-serial", "file:" + console, "-device", "virtio-serial",
                "-chardev", "socket,id=agent,path=" + agent + ",server=on,wait=off",
                "-device", "virtserialport,chardev=agent,name=agent");
        return new Vm(console, agent, ChildProcess.of(cmd).start(work.resolve(name + ".qemu.log")));
    }

    String consoleText() throws IOException {
        return Files.exists(console) ? Files.readString(console) : "";
    }

    /** Waits until the console has a line that starts with this. */
    void awaitLine(String prefix, Duration timeout) throws Exception {
        Await.until(timeout, () -> {
            if (!qemu.isAlive() && !hasLine(prefix)) {
                throw new AssertionError("the guest stopped before '" + prefix + "':\n" + consoleText());
            }
            return hasLine(prefix);
        }, () -> "no '" + prefix + "' on the guest's console:\n" + consoleText());
    }

    private boolean hasLine(String prefix) throws IOException {
        return consoleText().lines().anyMatch(l -> l.startsWith(prefix));
    }

    boolean waitForExit(Duration timeout) throws InterruptedException {
        return qemu.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        ChildProcess.kill(qemu);
    }
}
