package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/** The state of loop devices as sysfs shows it (/sys/block/loopN/loop/). */
final class LoopSysfs {
    private static final Path SYS_BLOCK = Path.of("/sys/block");
    private static final String DELETED = " (deleted)";

    private LoopSysfs() {
    }

    /** The backing file of /dev/loopN, or null when the device is not set up. */
    static String backingFile(String device) throws IOException {
        String name = Path.of(device).getFileName().toString();
        try {
            String s = Files.readString(SYS_BLOCK.resolve(name).resolve("loop/backing_file")).strip();
            return s.endsWith(DELETED) ? s.substring(0, s.length() - DELETED.length()) : s;
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** True when the device is set up over exactly this file. */
    static boolean backs(String device, Path file) throws IOException {
        return file.toAbsolutePath().normalize().toString().equals(backingFile(device));
    }

    /** Whether the kernel does direct I/O to the backing file. */
    static boolean directIo(String device) throws IOException {
        String name = Path.of(device).getFileName().toString();
        return Files.readString(SYS_BLOCK.resolve(name).resolve("loop/dio")).strip().equals("1");
    }

    /** Every set-up loop device (/dev/loopN) with its backing file. */
    static Map<String, String> backingFiles() throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(SYS_BLOCK, "loop*")) {
            for (Path p : ds) {
                String dev = "/dev/" + p.getFileName();
                String file = backingFile(dev);
                if (file != null) {
                    m.put(dev, file);
                }
            }
        }
        return m;
    }
}
