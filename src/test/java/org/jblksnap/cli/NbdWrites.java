package org.jblksnap.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;

import org.jblksnap.testutil.ChildProcess;

/**
 * Random 4 KiB writes to a device of the daemon, sent by qemu-io over NBD, and the tracking
 * blocks they touch (what the CBT must report).
 */
final class NbdWrites {
    static final int WRITE = 4096;

    private final Path socket;
    private final String export;
    private final long size;
    private final Random rnd;

    NbdWrites(Path socket, String export, long size, long seed) {
        this.socket = socket;
        this.export = export;
        this.size = size;
        this.rnd = new Random(seed);
    }

    /**
     * Writes a fraction of the device in random 4 KiB-aligned 4 KiB writes (each a random byte
     * pattern) and returns the blocks of trackingBlock bytes they touched.
     */
    BitSet randomWrites(double fraction, int trackingBlock) throws IOException, InterruptedException {
        int count = (int) Math.round(size * fraction / WRITE);
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        BitSet touched = new BitSet();
        for (int i = 0; i < count; i++) {
            long offset = (long) rnd.nextInt((int) (size / WRITE)) * WRITE;
            cmd.add("-c");
            cmd.add("write -P " + (1 + rnd.nextInt(255)) + " " + offset + " " + WRITE);
            touched.set((int) (offset / trackingBlock));
        }
        cmd.add("nbd+unix:///" + export + "?socket=" + socket);
        ChildProcess.of(cmd).check();
        return touched;
    }
}
