package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.stream.Stream;

import org.jblksnap.device.BlockIo;
import org.jblksnap.device.MountTable;
import org.jblksnap.error.DeviceBusyException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.PathException;

/**
 * A read-only block source (a backup point) shown as files under a directory: the source is
 * one file of a private FUSE mount, a read-only loop device with a partition scan is set up
 * over that file, and the file system of each partition, or of the whole device when it has
 * no partition table, is mounted read-only: at {@code DIR/pN} (a small read-only tmpfs at DIR
 * holds those directories), or at DIR itself. Journals are never replayed (the device is
 * read-only): ext4 mounts with {@code noload}, xfs with {@code norecovery,nouuid} (nouuid:
 * the original file system may be mounted on this host with the same UUID).
 *
 * <p>State: the FUSE mount point, a {@code state} file and a {@code stats} file live in the
 * directory {@link #stateDir} next to DIR, so that {@link #unmount} can undo everything from
 * another process, also after the process that mounted was killed. The state file is
 * rewritten (atomically) before each step that leaves something behind; every undo step
 * checks what is really there (the mount table, the loop device's backing file, whether the
 * recorded process is still the one that mounted), so undoing twice or a half-done mount is
 * safe. Undo order: the file systems (a busy one stops everything, nothing else changed),
 * the loop device, the mounting process (SIGTERM, it unmounts its FUSE mount), a FUSE mount
 * whose process is dead (lazy unmount), the state directory.
 */
public final class ReadOnlyMount implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ReadOnlyMount.class.getName());
    private static final long PROCESS_EXIT_WAIT_MILLIS = 60_000;
    private static final long PARTITION_WAIT_MILLIS = 10_000;

    /** A partition or the whole device: its file system type ("" if none) and where it is mounted (null if not). */
    public record Volume(String device, String type, Path mountPoint) {
    }

    private final Path dir;
    private final Path stateDir;
    private final Map<String, String> state = new LinkedHashMap<>();
    private final List<Volume> volumes = new ArrayList<>();
    private FuseMount fuse;
    private Path file;
    private String loop;
    private boolean closed;

    private ReadOnlyMount(Path dir) {
        this.dir = dir;
        this.stateDir = stateDir(dir);
    }

    /** Where the state of a mount at dir is kept: {@code .<name>.jblksnap-mount} next to it. */
    public static Path stateDir(Path dir) {
        Path d = dir.toAbsolutePath().normalize();
        return d.resolveSibling("." + d.getFileName() + ".jblksnap-mount");
    }

    /**
     * Shows the source under dir (an existing empty directory that is no mount point) as a
     * file named fileName and its file systems. On failure everything set up is undone.
     */
    public static ReadOnlyMount mount(Path dir, String fileName, BlockIo source) throws IOException {
        Path d = dir.toAbsolutePath().normalize();
        checkTarget(d);
        ReadOnlyMount m = new ReadOnlyMount(d);
        try {
            m.setUp(fileName, source);
            return m;
        } catch (IOException | RuntimeException e) {
            try {
                m.close();
            } catch (IOException | RuntimeException undo) {
                e.addSuppressed(undo);
            }
            throw e;
        }
    }

    private static void checkTarget(Path d) throws IOException {
        Path state = stateDir(d);
        if (Files.exists(state)) {
            Optional<ProcessHandle> owner = owner(read(state));
            if (owner.isPresent()) {
                throw new DeviceBusyException(d + " is already mounted by jblksnap mount (process " + owner.get().pid() + ")");
            }
            LOG.info(() -> "cleaning up what a crashed jblksnap mount left at " + d);
            unmount(d);
        }
        if (!Files.isDirectory(d)) {
            throw new PathException(Errno.ENOTDIR, d + " is not a directory");
        }
        if (MountTable.typeAt(d).isPresent()) {
            throw new DeviceBusyException(d + " is busy: something is mounted there");
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(d)) {
            if (entries.iterator().hasNext()) {
                throw new DeviceBusyException(d + " is not empty");
            }
        }
    }

    private void setUp(String fileName, BlockIo source) throws IOException {
        Files.createDirectories(stateDir.resolve("fuse"));
        ProcessHandle self = ProcessHandle.current();
        state.put("pid", String.valueOf(self.pid()));
        state.put("started", self.info().startInstant().map(Instant::toString).orElse(""));
        state.put("dir", dir.toString());
        save();
        fuse = new FuseMount(stateDir.resolve("fuse"), FuseExports.Options.defaults());
        fuse.fs().add(new ExportFile(fileName, source));
        file = stateDir.resolve("fuse").resolve(fileName);
        SystemTools.Result r = SystemTools.run("losetup", "--find", "--show", "--read-only", "--partscan",
                "--direct-io=on", file.toString());
        if (!r.ok()) {
            r = SystemTools.check("losetup", "--find", "--show", "--read-only", "--partscan", "--direct-io=off",
                    file.toString());
        }
        loop = r.out().strip();
        state.put("file", file.toString());
        state.put("loop", loop);
        save();
        List<String> partitions = partitions(loop);
        if (partitions.isEmpty() && SystemTools.run("partx", "--add", loop).ok()) {
            // A kernel built without the partition table parsers scans nothing; partx reads the
            // table in user space and adds the partitions (BLKPG), which go with the loop device.
            partitions = partitions(loop);
        }
        if (partitions.isEmpty()) {
            String type = fileSystemType(loop);
            if (type.isEmpty() || !mountable(type)) {
                throw new InvalidArgumentException("no partition table and no file system that can be mounted on "
                        + fileName + (type.isEmpty() ? "" : " (found " + type + ")"));
            }
            mountVolume(loop, type, dir);
            return;
        }
        SystemTools.check("mount", "-t", "tmpfs", "-o", "mode=0755,size=64k", "jblksnap-point", dir.toString());
        List<Volume> found = new ArrayList<>();
        for (String p : partitions) {
            String type = fileSystemType(p);
            Path at = mountable(type) ? dir.resolve("p" + p.substring(p.lastIndexOf('p') + 1)) : null;
            if (at != null) {
                Files.createDirectory(at);
            }
            found.add(new Volume(p, type, at));
        }
        SystemTools.check("mount", "-o", "remount,ro", dir.toString());
        for (Volume v : found) {
            if (v.mountPoint() != null) {
                mountVolume(v.device(), v.type(), v.mountPoint());
            } else {
                volumes.add(v);
                LOG.info(() -> v.device() + " has " + (v.type().isEmpty() ? "no file system" : v.type()) + "; not mounted");
            }
        }
    }

    private void mountVolume(String device, String type, Path at) throws IOException {
        SystemTools.Result r = SystemTools.run("mount", "-t", type, "-o", options(type), device, at.toString());
        if (!r.ok()) {
            throw new IOException("mounting the " + type + " file system of " + device + " at " + at + " failed: "
                    + r.describe());
        }
        volumes.add(new Volume(device, type, at));
    }

    private static String options(String type) {
        return switch (type) {
            case "ext3", "ext4" -> "ro,noload";
            case "xfs" -> "ro,norecovery,nouuid";
            default -> "ro";
        };
    }

    private static boolean mountable(String type) {
        return !type.isEmpty() && !type.equals("swap") && !type.endsWith("_member") && !type.equals("crypto_LUKS");
    }

    /** The partitions the kernel found on the loop device (/dev/loopNpM), in order. */
    private static List<String> partitions(String loop) throws IOException {
        String name = Path.of(loop).getFileName().toString();
        Path sys = Path.of("/sys/block", name);
        List<String> found;
        try (Stream<Path> s = Files.list(sys)) {
            found = s.map(p -> p.getFileName().toString()).filter(n -> n.matches(name + "p\\d+"))
                    .sorted(Comparator.comparingInt(n -> Integer.parseInt(n.substring(name.length() + 1))))
                    .map(n -> "/dev/" + n).toList();
        }
        long until = System.currentTimeMillis() + PARTITION_WAIT_MILLIS;
        for (String p : found) {
            while (!Files.exists(Path.of(p))) {
                if (System.currentTimeMillis() > until) {
                    throw new IOException(p + " is in sysfs but its device node did not appear");
                }
                sleep(50);
            }
        }
        return found;
    }

    /** blkid's low-level probe: the file system type, "" when none is recognised. */
    private static String fileSystemType(String device) throws IOException {
        SystemTools.Result r = SystemTools.run("blkid", "-p", "-o", "value", "-s", "TYPE", device);
        return r.ok() ? r.out().strip() : "";
    }

    private void save() throws IOException {
        StringBuilder b = new StringBuilder();
        state.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
        Path tmp = stateDir.resolve("state.tmp");
        Files.writeString(tmp, b);
        Files.move(tmp, stateDir.resolve("state"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static Map<String, String> read(Path stateDir) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        Path f = stateDir.resolve("state");
        if (Files.exists(f)) {
            for (String line : Files.readAllLines(f)) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    m.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
        }
        return m;
    }

    /** The recorded mounting process, if it still runs (the same process: same start time). */
    private static Optional<ProcessHandle> owner(Map<String, String> state) {
        String pid = state.get("pid");
        if (pid == null || Long.parseLong(pid) == ProcessHandle.current().pid()) {
            return Optional.empty();
        }
        return ProcessHandle.of(Long.parseLong(pid)).filter(ProcessHandle::isAlive)
                .filter(p -> p.info().startInstant().map(Instant::toString).orElse("").equals(state.get("started")));
    }

    /** The raw source file (on the private FUSE mount). */
    public Path file() {
        return file;
    }

    public String loopDevice() {
        return loop;
    }

    /** Every partition (or the whole device), mounted or not. */
    public List<Volume> volumes() {
        return List.copyOf(volumes);
    }

    /** Writes these figures to the {@code stats} file of the state directory (for `jblksnap mount`'s users). */
    public void writeStats(Map<String, Long> figures) throws IOException {
        StringBuilder b = new StringBuilder();
        figures.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
        Path tmp = stateDir.resolve("stats.tmp");
        Files.writeString(tmp, b);
        Files.move(tmp, stateDir.resolve("stats"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Undoes this process's mount (busy file systems are detached lazily); the FUSE mount goes last. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            unmountFileSystems(dir);
        } catch (DeviceBusyException e) {
            // This process is going and its FUSE mount with it: the file systems must not outlive it.
            LOG.warning(() -> e.getMessage() + "; detaching them lazily");
            SystemTools.check("umount", "--recursive", "--lazy", dir.toString());
        }
        detachLoop(read(stateDir));
        if (fuse != null) {
            fuse.close();
        }
        deleteState(stateDir);
    }

    /**
     * `jblksnap umount DIR`: undoes a mount made by this or another process, running or
     * killed. Returns false when nothing was mounted at dir by jblksnap.
     */
    public static boolean unmount(Path dir) throws IOException {
        Path d = dir.toAbsolutePath().normalize();
        Path sd = stateDir(d);
        if (!Files.isDirectory(sd)) {
            return false;
        }
        Map<String, String> state = read(sd);
        unmountFileSystems(d);
        detachLoop(state);
        Optional<ProcessHandle> owner = owner(state);
        if (owner.isPresent()) {
            ProcessHandle p = owner.get();
            p.destroy();
            try {
                p.onExit().get(PROCESS_EXIT_WAIT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for process " + p.pid() + " to stop", e);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                LOG.warning(() -> "process " + p.pid() + " did not stop within " + PROCESS_EXIT_WAIT_MILLIS / 1000
                        + " s of SIGTERM; killing it");
                p.destroyForcibly();
            }
        }
        Path fuseDir = sd.resolve("fuse");
        if (StaleMounts.isFuseMount(fuseDir)) {
            StaleMounts.unmount(fuseDir);
        }
        deleteState(sd);
        return true;
    }

    /** Unmounts everything at and under dir; a busy file system fails this and changes nothing. */
    private static void unmountFileSystems(Path dir) throws IOException {
        if (MountTable.typeAt(dir).isEmpty()) {
            return;
        }
        SystemTools.Result r = SystemTools.run("umount", "--recursive", dir.toString());
        if (!r.ok()) {
            throw new DeviceBusyException(dir + " is busy (a process uses a file under it?): " + r.describe());
        }
    }

    private static void detachLoop(Map<String, String> state) throws IOException {
        String loop = state.get("loop");
        String file = state.get("file");
        if (loop == null || file == null || !LoopSysfs.backs(loop, Path.of(file))) {
            return;
        }
        SystemTools.Result r = SystemTools.run("losetup", "-d", loop);
        if (!r.ok() && LoopSysfs.backs(loop, Path.of(file))) {
            throw new IOException("detaching " + loop + ": " + r.describe());
        }
    }

    private static void deleteState(Path sd) throws IOException {
        for (String f : List.of("state", "state.tmp", "stats", "stats.tmp")) {
            Files.deleteIfExists(sd.resolve(f));
        }
        Files.deleteIfExists(sd.resolve("fuse"));
        Files.deleteIfExists(sd);
    }

    private static void sleep(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
