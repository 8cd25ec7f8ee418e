package org.jblksnap.fuse;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Skips a test when the kernel or the machine lacks what it needs. */
public final class Kernel {
    private Kernel() {
    }

    static boolean root() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    static void assumeFuse() {
        assumeTrue(Files.exists(Path.of("/dev/fuse")), "no /dev/fuse: this kernel has no FUSE");
        assumeTrue(root(), "not root: mounting FUSE with loop devices needs root");
        assumeTrue(LibFuse.path() != null, "libfuse3 is not installed (package fuse3)");
    }

    static void assumeLoop() {
        assumeFuse();
        assumeLoopDevices();
    }

    /** Root, for a mount of its own (a small tmpfs that fills). */
    public static void assumeRoot(String why) {
        assumeTrue(root(), "not root: " + why);
    }

    /** Loop devices, without FUSE (a restore to a loop device). */
    public static void assumeLoopDevices() {
        assumeTrue(Files.exists(Path.of("/dev/loop-control")), "no /dev/loop-control: this kernel has no loop driver");
        assumeTrue(root(), "not root: setting up a loop device needs root");
    }
}
