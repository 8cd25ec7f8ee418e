package org.jblksnap.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.jblksnap.backup.Progress;
import org.jblksnap.backup.RestoreSummary;
import org.jblksnap.backup.Restorer;
import org.jblksnap.control.ControlClient;
import org.jblksnap.device.BlockDevice;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;
import org.jblksnap.repo.Repository;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** `jblksnap restore`: a point written out as a raw image (sparse where zero) or onto a device. */
@Command(name = "restore", mixinStandardHelpOptions = true, description = "Restore a backup point to a file or block device.")
final class RestoreCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Option(names = "--point", required = true, description = "Point number, or latest (with -d).")
    String point;

    @Option(names = "--to", required = true, description = "Target file (created) or block device.")
    Path to;

    @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
    boolean json;

    @Option(names = "--live", description = "Attach the target to the running daemon as device -d NAME at once, "
            + "restored in the background (reads of what is not restored yet come from the repository).")
    boolean live;

    @Option(names = "--run-dir", description = "The daemon's run directory: its attached devices are refused as"
            + " targets, and --live attaches there (default: $JBLKSNAP_RUN_DIR or /run/jblksnap).")
    Path runDir;

    @Override
    public Integer call() throws Exception {
        refuseAttached(runDir != null ? runDir : ClientOptions.defaultRunDir(), to);
        if (live) {
            return new LiveRestore(repo, point, to, runDir != null ? runDir : ClientOptions.defaultRunDir(), json).run();
        }
        try (Repository r = repo.open(false)) {
            long id = repo.point(r, point);
            // a block per core at once: decompressing and hashing chunks is what a restore waits for
            RestoreSummary s = new Restorer(r, Progress.forConsole(System.err), Runtime.getRuntime().availableProcessors())
                    .restore(id, to);
            System.err.println(s.format());
            ResultPrinter.print(System.out, ResultPrinter.object().put("point", id).put("target", to.toString())
                    .put("size", s.size()).put("written_bytes", s.bytesWritten()).put("sparse", s.sparse()), json);
        }
        return 0;
    }

    /**
     * Refuses a target that the daemon at runDir has attached (the same file, or the same
     * device under any name): writing it behind the tracker would leave the CBT blind and
     * change what open snapshot images read. No daemon running there (or none this user may
     * reach): nothing to refuse.
     */
    static void refuseAttached(Path runDir, Path target) throws IOException {
        if (!Files.exists(runDir.resolve("control.sock"))) {
            return;
        }
        ControlClient client;
        try {
            client = ControlClient.connect(runDir);
        } catch (IOException e) {
            return; // a socket left by a daemon that is gone, or one this user may not reach
        }
        JsonNode devices;
        try (ControlClient c = client) {
            devices = c.call("tracker_collect", ControlClient.args()).path("devices");
        }
        for (JsonNode d : devices) {
            if (BlockDevice.sameFile(Path.of(d.path("path").asText()), target)) {
                throw new BlksnapException(Errno.EBUSY, "cannot restore to " + target + ": it is attached to the"
                        + " jblksnap daemon as " + d.path("device").asText() + "; detach it first");
            }
        }
    }
}
