package org.jblksnap.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Callable;

import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.tracker.Tracker;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `jblksnap demo`: the engine end to end on files under a temporary directory. Attaches a
 * device, fills it, takes a snapshot, overwrites the device, and proves the image still shows
 * the device at take and the CBT reports what was written.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run a snapshot cycle on a temporary device file and verify it.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--size-mib", defaultValue = "64", description = "Device size in MiB (default ${DEFAULT-VALUE}).")
    int sizeMib;

    @Option(names = "--keep", description = "Keep the temporary directory.")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("jblksnap-demo-");
        try {
            return run(dir);
        } finally {
            if (!keep) {
                deleteTree(dir);
            } else {
                System.out.println("dir=" + dir);
            }
        }
    }

    private int run(Path dir) throws IOException {
        long size = (long) sizeMib << 20;
        Path disk = dir.resolve("disk0.img");
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.write(ByteBuffer.allocate(1), size - 1);
        }
        Params params = Params.defaults().with(java.util.Map.of("diff_storage_minimum", "65536")).corrected().params();
        try (SnapshotManager engine = new SnapshotManager(params)) {
            Tracker dev = engine.attach("disk0", disk);
            SplittableRandom random = new SplittableRandom(42);
            byte[] before = new byte[(int) size];
            random.nextBytes(before);
            dev.write(0, ByteBuffer.wrap(before));
            System.out.println("device=disk0 path=" + disk + " size=" + size);

            UUID id = engine.create(dir, 1L << 30, List.of("disk0"));
            engine.take(id);
            SnapshotImage image = engine.image("disk0");
            System.out.println("snapshot=" + id + " image=" + image.name());

            byte[] block = new byte[1 << 16];
            int writes = 200;
            for (int i = 0; i < writes; i++) {
                random.nextBytes(block);
                long off = random.nextLong(size / block.length) * block.length;
                dev.write(off, ByteBuffer.wrap(block));
            }
            byte[] seen = new byte[(int) size];
            image.read(0, ByteBuffer.wrap(seen));
            boolean same = Arrays.equals(before, seen);
            System.out.println("device_writes_after_take=" + writes + " chunks_copied="
                    + engine.snapshot(id).copiedChunks() + " storage_bytes=" + engine.snapshot(id).storage().filled());
            System.out.println("image_matches_take=" + same);

            engine.destroy(id);
            UUID second = engine.create(dir, 1L << 30, List.of("disk0"));
            engine.take(second);
            CbtInfo info = engine.cbtInfo("disk0");
            int changed = 0;
            for (byte b : engine.readCbtMap("disk0", 0, info.blockCount())) {
                if (Byte.toUnsignedInt(b) > 1) {
                    changed++;
                }
            }
            System.out.println("generation_id=" + info.generationId() + " changes_number=" + info.changesNumber()
                    + " blocks_changed_since_first_snapshot=" + changed + " of " + info.blockCount());
            engine.destroy(second);
            System.out.println("result=" + (same && changed > 0 ? "ok" : "FAILED"));
            return same && changed > 0 ? 0 : 1;
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
