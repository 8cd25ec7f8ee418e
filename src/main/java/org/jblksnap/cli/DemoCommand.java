package org.jblksnap.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.backup.BackupRequest;
import org.jblksnap.backup.BackupRunner;
import org.jblksnap.backup.BackupSummary;
import org.jblksnap.backup.CbtRef;
import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Restorer;
import org.jblksnap.nbd.client.NbdAddress;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.fuse.SystemTools;
import org.jblksnap.nbd.server.NbdServer;
import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.tracker.Tracker;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `jblksnap demo`: the whole story on files under a temporary directory. A device holding an
 * ext4 file system is tracked and served over NBD; a full backup is taken through a snapshot,
 * the file system changes, an incremental backup reads only what the CBT reports, and both
 * points are restored and compared byte for byte with the device as it was at each backup.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run a full + incremental backup and restore cycle on a temporary ext4 device and verify it.")
final class DemoCommand implements Callable<Integer> {
    private static final int BLOCK = 64 << 10;
    /** Held so the level sticks: the engine's INFO lines would drown the story. */
    private static final Logger ENGINE_LOG = Logger.getLogger("org.jblksnap");

    @Option(names = "--size-mib", defaultValue = "128", description = "Device size in MiB (default ${DEFAULT-VALUE}).")
    int sizeMib;

    @Option(names = "--keep", description = "Keep the temporary directory.")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        ENGINE_LOG.setLevel(Level.WARNING);
        Path dir = Files.createTempDirectory("jblksnap-demo-");
        try {
            return run(dir);
        } finally {
            if (keep) {
                System.out.println("dir=" + dir);
            } else {
                deleteTree(dir);
            }
        }
    }

    private int run(Path dir) throws Exception {
        long size = (long) sizeMib << 20;
        Path disk = dir.resolve("disk0.img");
        Path fs = dir.resolve("fs-work.img");
        makeFileSystem(dir, fs, size);
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), size - 1);
        }
        Params params = Params.defaults().with(Map.of("chunk_minimum_shift", "16", "diff_storage_minimum", "65536"))
                .corrected().params();
        Path socket = dir.resolve("nbd.sock");
        Progress progress = Progress.forConsole(System.err);
        List<Boolean> checks = new ArrayList<>();
        try (SnapshotManager engine = new SnapshotManager(params);
                NbdServer nbd = new NbdServer(engine);
                Repository repo = Repository.openOrCreate(dir.resolve("repo"),
                        RepositoryConfig.of(RepositoryConfig.DEFAULT_CHUNK_SIZE))) {
            nbd.listenUnix(socket);
            Tracker device = engine.attach("disk0", disk);
            long written = copyChangedBlocks(fs, device);
            System.out.println("device=disk0 size=" + size + " filesystem=ext4 written_bytes=" + written);

            BackupSummary full = backup(engine, repo, socket, progress);
            Path atFull = dir.resolve("disk0-at-point-" + full.pointId() + ".img");
            Files.copy(disk, atFull);

            changeFileSystem(dir, fs);
            long changed = copyChangedBlocks(fs, device);
            System.out.println("changed_bytes=" + changed + " (files added, one removed; only changed blocks written)");

            BackupSummary incremental = backup(engine, repo, socket, progress);
            for (var point : List.of(Map.entry(full.pointId(), atFull), Map.entry(incremental.pointId(), disk))) {
                Path restored = dir.resolve("restored-" + point.getKey() + ".img");
                new Restorer(repo, progress, 2).restore(point.getKey(), restored);
                boolean same = Files.mismatch(restored, point.getValue()) == -1;
                checks.add(same);
                System.out.println("restore point=" + point.getKey() + " identical=" + same
                        + " fsck=" + (fsck(restored) ? "clean" : "ERRORS"));
            }
            checks.add(incremental.stats().bytesRead() < full.stats().bytesRead());
        }
        boolean ok = !checks.contains(false);
        System.out.println("result=" + (ok ? "ok" : "FAILED"));
        return ok ? 0 : 1;
    }

    /** A snapshot of the device, its image backed up over NBD, the snapshot destroyed. */
    private static BackupSummary backup(SnapshotManager engine, Repository repo, Path socket, Progress progress)
            throws IOException {
        UUID id = engine.create(socket.getParent(), 1L << 30, List.of("disk0"));
        try {
            engine.take(id);
            CbtInfo cbt = engine.cbtInfo("disk0");
            BackupSummary s = new BackupRunner(repo, progress).run(BackupRequest.of("disk0", new NbdAddress.Unix(socket),
                    engine.image("disk0").name(), new CbtRef(cbt.generationId().toString(), cbt.changesNumber())));
            System.err.println(s.format());
            System.out.println("backup point=" + s.pointId() + " mode=" + s.mode().split(" ")[0] + " read_bytes="
                    + s.stats().bytesRead() + " stored_bytes=" + s.stats().storedBytes());
            return s;
        } finally {
            engine.destroy(id);
        }
    }

    /** Writes through the tracker the 64 KiB blocks of source that differ from the device. */
    private static long copyChangedBlocks(Path source, Tracker device) throws IOException {
        long written = 0;
        ByteBuffer want = ByteBuffer.allocate(BLOCK);
        ByteBuffer have = ByteBuffer.allocate(BLOCK);
        try (FileChannel src = FileChannel.open(source, StandardOpenOption.READ)) {
            for (long off = 0; off < device.capacity(); off += BLOCK) {
                want.clear();
                have.clear();
                src.read(want, off);
                want.flip();
                device.read(off, have);
                have.flip();
                if (!want.equals(have)) {
                    device.write(off, want);
                    written += BLOCK;
                }
            }
        }
        device.flush();
        return written;
    }

    private static void makeFileSystem(Path dir, Path image, long size) throws IOException {
        Path content = Files.createDirectories(dir.resolve("content"));
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 40; i++) {
            StringBuilder sb = new StringBuilder();
            for (int line = 0; line < 2000 + random.nextInt(4000); line++) {
                sb.append("file ").append(i).append(" line ").append(line).append(' ').append(random.nextLong()).append('\n');
            }
            Files.writeString(content.resolve("file-" + i + ".txt"), sb);
        }
        SystemTools.check("mkfs.ext4", "-q", "-F", "-b", "4096", "-d", content.toString(), image.toString(),
                (size >> 10) + "k");
    }

    private static void changeFileSystem(Path dir, Path image) throws IOException {
        Path added = dir.resolve("added.bin");
        byte[] data = new byte[3 << 20];
        new SplittableRandom(11).nextBytes(data);
        Files.write(added, data);
        SystemTools.check("debugfs", "-w", "-R", "write " + added + " added.bin", image.toString());
        SystemTools.check("debugfs", "-w", "-R", "rm file-3.txt", image.toString());
    }

    private static boolean fsck(Path image) throws IOException {
        return SystemTools.run("e2fsck", "-fn", image.toString()).ok();
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
