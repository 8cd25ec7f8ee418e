package org.jblksnap.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.jblksnap.backup.BackupRequest;
import org.jblksnap.backup.BackupRunner;
import org.jblksnap.backup.BackupSummary;
import org.jblksnap.backup.CbtRef;
import org.jblksnap.backup.Progress;
import org.jblksnap.backup.nbd.NbdAddress;
import org.jblksnap.backup.repo.Repository;
import org.jblksnap.control.ControlClient;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * `jblksnap backup`: one snapshot of every named device at one instant, each image read
 * over the daemon's NBD socket into the repository (only what the CBT reports changed since
 * the device's last point, when the generation is the same), then the snapshot destroyed,
 * also when the backup fails.
 */
@Command(name = "backup", mixinStandardHelpOptions = true,
        description = "Back up devices of the daemon into a repository (full first, then incremental by CBT).")
final class BackupCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;

    @Option(names = {"-d", "--device"}, required = true, description = "Device to back up (repeatable).")
    List<String> devices;

    @Option(names = "--repo", required = true, description = "Repository directory (created when missing).")
    Path repo;

    @Option(names = "--storage", description = "Difference storage of the snapshot (default: the system temp dir).")
    Path storage;

    @Option(names = "--limit", defaultValue = "4G", description = "Difference storage limit (default ${DEFAULT-VALUE}).")
    String limit;

    @Option(names = "--full", description = "Read everything even when the CBT knows what changed.")
    boolean full;

    @Override
    public Integer call() throws Exception {
        Path diff = storage != null ? storage : Path.of(System.getProperty("java.io.tmpdir"));
        NbdAddress nbd = new NbdAddress.Unix(client.runDir().resolve("nbd.sock"));
        List<BackupSummary> done = new ArrayList<>();
        try (ControlClient c = ControlClient.connect(client.runDir());
                Repository r = Repository.openOrCreate(repo, Repository.DEFAULT_BLOCK_SIZE)) {
            ObjectNode create = ControlClient.args().put("storage", diff.toAbsolutePath().toString())
                    .put("limit", Sizes.parse("limit", limit));
            devices.forEach(create.putArray("devices")::add);
            String id = c.call("snapshot_create", create).path("id").asText();
            try {
                c.call("snapshot_take", ControlClient.args().put("id", id));
                Progress progress = Progress.forConsole(System.err);
                BackupRunner runner = new BackupRunner(r, progress);
                for (String device : devices) {
                    String image = c.call("snapshot_info", ControlClient.args().put("device", device)).path("image").asText();
                    JsonNode cbt = c.call("cbtinfo", ControlClient.args().put("device", device));
                    CbtRef ref = new CbtRef(cbt.path("generation_id").asText(), cbt.path("changes_number").asInt());
                    BackupRequest req = BackupRequest.of(device, nbd, image, ref);
                    done.add(runner.run(full ? req.forcingFull() : req));
                }
            } finally {
                c.call("snapshot_destroy", ControlClient.args().put("id", id));
            }
        }
        for (BackupSummary s : done) {
            System.err.println(s.format());
            ObjectNode out = ControlClient.args().put("device", s.device()).put("point", s.pointId())
                    .put("mode", s.mode()).put("size", s.size()).put("read_bytes", s.stats().bytesRead())
                    .put("changed_blocks", s.stats().changedBlocks()).put("new_blocks", s.stats().newBlocks())
                    .put("stored_bytes", s.stats().storedBytes()).put("seconds", s.stats().seconds());
            ResultPrinter.print(System.out, out, client.json);
        }
        return 0;
    }
}
