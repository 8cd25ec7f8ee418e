package org.jblksnap.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.jblksnap.testutil.ChildProcess;

/**
 * The small guest the VM test boots: a Debian kernel unpacked by scripts/env.sh's
 * ensure_vm_tools into {@code $JBLKSNAP_VM_DIR}, and an initramfs built here from the static
 * busybox and the modules the guest needs for an ext4 file system on a virtio disk. Its init
 * (the script below) does what the kernel command line's {@code jb=} says:
 * <ul>
 * <li>{@code writer}: mounts /dev/vda, answers {@code freeze}/{@code thaw} on its virtio-serial
 * port (a guest agent, as qemu-guest-agent talks to the host: fsfreeze of the file system, then
 * {@code frozen}/{@code thawed}),
 * and writes files f1, f2, … of 64 KiB of random bytes, printing {@code synced fN SHA256} on
 * the console once each is on disk;</li>
 * <li>{@code check}: mounts /dev/vda, prints {@code have fN SHA256} for every file, unmounts,
 * prints {@code umounted} and powers off.</li>
 * </ul>
 */
final class GuestImage {
    private static final List<String> MODULES = List.of("crc32c_generic", "virtio_pci", "virtio_blk", "ext4",
            "virtio_console");

    private static final String INIT = """
            #!/bin/busybox sh
            /bin/busybox --install -s /bin
            mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
            for m in $(cat /modules); do insmod "$m" 2>/dev/null; done  # crc32c-intel fails without SSE4.2: crc32c_generic serves
            for i in $(seq 100); do [ -b /dev/vda ] && break; sleep 0.1; done
            mode=$(sed 's/.* jb=\\([a-z]*\\).*/\\1/' /proc/cmdline)
            mount -t ext4 /dev/vda /mnt || { echo "mount failed"; poweroff -f; }
            echo "guest up: $mode"
            case "$mode" in
            writer)
                (exec 3<>/dev/vport0p1
                while read -r cmd <&3; do
                    case "$cmd" in
                    freeze) fsfreeze --freeze /mnt && echo frozen >&3 ;;
                    thaw) fsfreeze --unfreeze /mnt && echo thawed >&3 ;;
                    esac
                done) &
                i=0
                while true; do
                    i=$((i + 1))
                    dd if=/dev/urandom of=/mnt/f$i bs=4096 count=16 2>/dev/null
                    sync
                    echo "synced f$i $(sha256sum /mnt/f$i | cut -d' ' -f1)"
                done ;;
            check)
                for f in /mnt/f*; do echo "have $(basename $f) $(sha256sum $f | cut -d' ' -f1)"; done
                umount /mnt && echo umounted
                poweroff -f ;;
            esac
            """;

    final Path kernel;
    final Path initramfs;

    private GuestImage(Path kernel, Path initramfs) {
        this.kernel = kernel;
        this.initramfs = initramfs;
    }

    /** The unpacked kernel's directory, or null when ensure_vm_tools has not run here. */
    static Path kernelDir() {
        Path dir = Path.of(System.getenv().getOrDefault("JBLKSNAP_VM_DIR", "/var/cache/jblksnap/vm"));
        return Files.isDirectory(dir.resolve("boot")) ? dir : null;
    }

    static GuestImage build(Path kernelDir, Path work) throws IOException {
        Path kernel;
        try (Stream<Path> s = Files.list(kernelDir.resolve("boot"))) {
            kernel = s.filter(p -> p.getFileName().toString().startsWith("vmlinuz-")).findFirst()
                    .orElseThrow(() -> new IOException("no vmlinuz-* in " + kernelDir.resolve("boot")));
        }
        String version = kernel.getFileName().toString().substring("vmlinuz-".length());
        Path root = work.resolve("initramfs");
        for (String d : List.of("bin", "dev", "proc", "sys", "mnt", "lib/modules")) {
            Files.createDirectories(root.resolve(d));
        }
        Files.copy(Path.of("/bin/busybox"), root.resolve("bin/busybox"));
        Set<Path> modules = new LinkedHashSet<>();
        for (String m : MODULES) {
            String deps = ChildProcess.of("modprobe", "-d", kernelDir.toString(), "-S", version, "--show-depends", m)
                    .check().out();
            for (String line : deps.lines().toList()) {
                String[] w = line.trim().split("\\s+");
                if (w.length >= 2 && w[0].equals("insmod")) {
                    modules.add(Path.of(w[1]));
                }
            }
        }
        List<String> inGuest = new ArrayList<>();
        for (Path ko : modules) {
            Path to = root.resolve("lib/modules").resolve(ko.getFileName());
            Files.copy(ko, to);
            inGuest.add("/lib/modules/" + ko.getFileName());
        }
        Files.writeString(root.resolve("modules"), String.join("\n", inGuest) + "\n");
        Path init = root.resolve("init");
        Files.writeString(init, INIT);
        Files.setPosixFilePermissions(init, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path initramfs = work.resolve("initramfs.cpio");
        ChildProcess.of("sh", "-c", "find . | cpio -o -H newc --quiet > " + initramfs).in(root).check();
        return new GuestImage(kernel, initramfs);
    }
}
