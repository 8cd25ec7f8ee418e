package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.jblksnap.device.BlockSysfs;

/** The state of loop devices as sysfs shows it (/sys/block/loopN/loop/). */
final class LoopSysfs {
    private static final Path SYS_BLOCK = Path.of("/sys/block");

    private LoopSysfs() {
    }

    /** The backing file of /dev/loopN, or null when the device is not set up. */
    static String backingFile(String device) throws IOException {
        return BlockSysfs.loopBackingFile(SYS_BLOCK.resolve(Path.of(device).getFileName().toString()));
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
        return BlockSysfs.loopDevices();
    }
}
