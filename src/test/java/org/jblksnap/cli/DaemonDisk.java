package org.jblksnap.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jblksnap.daemon.JblksnapProcess;
import org.jblksnap.testutil.MixedContent;

/**
 * The setup of the CLI backup tests: a daemon of the real program (run directory runDir) with
 * one device of mixed content (MixedContent, seeded), and random writes to it through NBD.
 * The test closes jb.
 */
record DaemonDisk(JblksnapProcess jb, Path disk, NbdWrites writes) {
    static DaemonDisk start(Path dir, Path runDir, String device, long size, int seed, String... daemonOptions)
            throws Exception {
        Path disk = MixedContent.mixed(dir.resolve(device + ".img"), size, seed);
        JblksnapProcess jb = new JblksnapProcess(runDir);
        List<String> options = new ArrayList<>(List.of("--device", device + "=" + disk));
        options.addAll(List.of(daemonOptions));
        try {
            jb.startDaemon(options.toArray(String[]::new));
        } catch (Exception | Error e) {
            jb.close(); // a daemon that started but did not answer is stopped, not left behind
            throw e;
        }
        return new DaemonDisk(jb, disk, new NbdWrites(jb.runDir().resolve("nbd.sock"), device, size, 7L * seed));
    }
}
