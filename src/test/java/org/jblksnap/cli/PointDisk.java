package org.jblksnap.cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.jblksnap.testutil.ChildProcess;

/**
 * A disk image with a partition table made by parted (or none) and file systems made by mkfs,
 * filled with random files through a loop device; the files written are kept to compare.
 */
final class PointDisk {
    /** A partition: its file system and size in MiB. */
    record Part(String fs, int mib) {
    }

    final Path image;
    /** Per partition (1-based; 0 for a whole-device file system): relative path → content. */
    final Map<Integer, Map<String, byte[]>> files = new LinkedHashMap<>();

    private PointDisk(Path image) {
        this.image = image;
    }

    /** label: gpt, msdos, or null for one file system on the whole device (parts has one element then). */
    static PointDisk make(Path image, String label, List<Part> parts, long seed) throws IOException {
        PointDisk d = new PointDisk(image);
        long mib = 2 + parts.stream().mapToLong(Part::mib).sum();
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(mib << 20);
        }
        if (label != null) {
            List<String> cmd = new ArrayList<>(List.of("parted", "-s", image.toString(), "mklabel", label));
            long at = 1;
            for (Part p : parts) {
                cmd.addAll(List.of("mkpart", label.equals("gpt") ? "part" : "primary", p.fs(), at + "MiB",
                        (at + p.mib()) + "MiB"));
                at += p.mib();
            }
            ChildProcess.of(cmd).check();
        }
        String loop = ChildProcess.of("losetup", "--find", "--show", "--partscan", image.toString()).check().out().strip();
        if (label != null && !Files.exists(Path.of(loop + "p1"))) {
            ChildProcess.of("partx", "--add", loop).check(); // a kernel without partition table parsers
        }
        Path mnt = Files.createTempDirectory(image.getParent(), "fill");
        try {
            Random random = new Random(seed);
            for (int i = 0; i < parts.size(); i++) {
                int n = label == null ? 0 : i + 1;
                String dev = label == null ? loop : loop + "p" + n;
                ChildProcess.of(parts.get(i).fs().equals("xfs") ? List.of("mkfs.xfs", "-q", "-f", dev)
                        : List.of("mkfs." + parts.get(i).fs(), "-q", "-F", dev)).check();
                ChildProcess.of("mount", dev, mnt.toString()).check();
                try {
                    d.files.put(n, fill(mnt, random));
                    ChildProcess.of("sync", "-f", mnt.toString()).check();
                } finally {
                    ChildProcess.of("umount", mnt.toString()).check();
                }
            }
        } finally {
            ChildProcess.of("losetup", "-d", loop).check();
            Files.deleteIfExists(mnt);
        }
        return d;
    }

    /** 40 files from 1 KiB to 1 MiB in a few directories, and one of 8 MiB. */
    private static Map<String, byte[]> fill(Path root, Random random) throws IOException {
        Map<String, byte[]> written = new LinkedHashMap<>();
        for (int i = 0; i < 40; i++) {
            String rel = "dir" + (i % 5) + "/file" + i + ".bin";
            byte[] b = new byte[1024 << random.nextInt(11)];
            random.nextBytes(b);
            Files.createDirectories(root.resolve(rel).getParent());
            Files.write(root.resolve(rel), b);
            written.put(rel, b);
        }
        byte[] big = new byte[8 << 20];
        random.nextBytes(big);
        Files.write(root.resolve("big.bin"), big);
        written.put("big.bin", big);
        return written;
    }
}
