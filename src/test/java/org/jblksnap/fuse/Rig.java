package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.jblksnap.cbt.CbtFileStore;
import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.tracker.Tracker;

/**
 * An engine with its FUSE exports in a temporary directory, plus the kernel pieces a test sets
 * up (loop devices, mounts). Everything is taken down at close, in reverse order, even after a
 * failure.
 */
final class Rig implements AutoCloseable {
    final Path dir;
    final SnapshotManager engine;
    final FuseExports exports;
    private final Teardown teardown = new Teardown();
    private final List<Path> mounted = new ArrayList<>();

    Rig(long diffStorageMinimumSectors) throws IOException {
        this(Params.defaults().with(Map.of("chunk_minimum_shift", "16",
                "diff_storage_minimum", Long.toString(diffStorageMinimumSectors))).corrected().params());
    }

    Rig(Params params) throws IOException {
        this(params, null);
    }

    /** With CBT maps saved under DIR/cbt at detach (a daemon's state directory). */
    static Rig savingCbt(Params params) throws IOException {
        return new Rig(params, "cbt");
    }

    private Rig(Params params, String cbtDir) throws IOException {
        dir = Files.createTempDirectory("jblksnap-fuse-test-");
        teardown.add(() -> deleteTree(dir));
        engine = cbtDir == null ? new SnapshotManager(params) : new SnapshotManager(params, new CbtFileStore(dir.resolve(cbtDir)));
        teardown.add(engine::close);
        FuseExports fe;
        try {
            fe = new FuseExports(engine, dir.resolve("exports"));
        } catch (IOException | RuntimeException e) {
            try {
                teardown.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        exports = fe;
        teardown.add(exports::close);
    }

    /** A sparse file of the given size under the test directory. */
    Path file(String name, long mib) throws IOException {
        return TestDevices.sparseFile(dir, name, mib << 20);
    }

    /** A new device file, attached to the engine. */
    Tracker attach(String name, long mib) throws IOException {
        return engine.attach(name, file(name + ".img", mib));
    }

    /** The export's loop device. FuseExports detaches it at destroy/detach/close. */
    String loop(String export) throws IOException {
        return exports.loops().attach(export);
    }

    /** A plain loop device over a file (not an export), detached at close. */
    String plainLoop(Path file) throws IOException {
        return plainLoop(file.toString());
    }

    /**
     * A plain loop device over a file or a block device, with losetup's options (--offset,
     * --sizelimit: a stand-in for a partition on kernels without partition tables), detached at
     * close.
     */
    String plainLoop(String backing, String... options) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("losetup", "--find", "--show"));
        cmd.addAll(List.of(options));
        cmd.add(backing);
        String dev = ChildProcess.of(cmd).check().out().strip();
        teardown.add(() -> ChildProcess.of("losetup", "-d", dev).run());
        return dev;
    }

    /** A tmpfs of this size mounted at a new directory, unmounted at close. */
    Path tmpfs(String name, long mib) throws IOException {
        Path mp = Files.createDirectories(dir.resolve("mnt").resolve(name));
        ChildProcess.of("mount", "-t", "tmpfs", "-o", "size=" + mib + "M", "tmpfs", mp.toString()).check();
        teardown.add(() -> ChildProcess.of("umount", "-l", mp.toString()).run());
        return mp;
    }

    void mkfs(String type, String device) throws IOException {
        if (type.equals("xfs")) {
            ChildProcess.of("mkfs.xfs", "-q", "-f", device).check();
        } else {
            ChildProcess.of("mkfs." + type, "-q", "-F", device).check();
        }
    }

    /** Mounts device at a new directory; unmounted at close if the test did not. */
    Path mount(String device, String name, String... options) throws IOException {
        Path mp = dir.resolve("mnt").resolve(name);
        Files.createDirectories(mp);
        mountAt(device, mp, options);
        teardown.add(() -> {
            if (mounted.contains(mp)) {
                ChildProcess.Result r = ChildProcess.of("umount", mp.toString()).run();
                if (!r.ok()) {
                    ChildProcess.of("umount", "-l", mp.toString()).run();
                }
                mounted.remove(mp);
            }
        });
        return mp;
    }

    void mountAt(String device, Path mp, String... options) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("mount"));
        if (options.length > 0) {
            cmd.add("-o");
            cmd.add(String.join(",", options));
        }
        cmd.add(device);
        cmd.add(mp.toString());
        ChildProcess.of(cmd).check();
        mounted.add(mp);
    }

    void umount(Path mp) throws IOException {
        ChildProcess.of("umount", mp.toString()).check();
        mounted.remove(mp);
    }

    /** umount --lazy --force: gone from the namespace now, released at its last close. */
    void lazyUmount(Path mp) throws IOException {
        ChildProcess.of("umount", "--lazy", "--force", mp.toString()).check();
        mounted.remove(mp);
    }

    /** Unmounts and mounts again: what is read afterwards comes from the device, not a cache. */
    void remount(String device, Path mp, String... options) throws IOException {
        umount(mp);
        mountAt(device, mp, options);
    }

    /** Checks an unmounted file system without changing it (e2fsck -fn, xfs_repair -n). */
    void fsck(String type, String device) throws IOException {
        if (type.equals("xfs")) {
            ChildProcess.of("xfs_repair", "-n", device).check();
        } else {
            ChildProcess.of("e2fsck", "-f", "-n", device).check();
        }
    }

    @Override
    public void close() throws Exception {
        teardown.close();
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
