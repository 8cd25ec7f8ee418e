package org.jblksnap.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.jblksnap.backup.BackupRequest;
import org.jblksnap.backup.BackupRunner;
import org.jblksnap.backup.BackupSummary;
import org.jblksnap.backup.Progress;
import org.jblksnap.nbd.client.NbdAddress;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.params.Sizes;

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

    @Option(names = "--repo", required = true, description = "Repository: a directory, or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX] (created when missing).")
    String repo;

    @Option(names = "--storage", description = "Difference storage of the snapshot (default: the system temp dir).")
    Path storage;

    @Option(names = "--limit", defaultValue = "4G", description = "Difference storage limit (default ${DEFAULT-VALUE}).")
    String limit;

    @Option(names = "--chunk-size", description = "Chunk size of a new repository (its unit of storage and dedup), "
            + "a power of two from 4K to 4M (default 64K, the CBT's block); an existing repository keeps its own.")
    String chunkSize;

    @Option(names = "--full", description = "Read everything even when the CBT knows what changed.")
    boolean full;

    @Override
    public Integer call() throws Exception {
        Path diff = storage != null ? storage : Path.of(System.getProperty("java.io.tmpdir"));
        NbdAddress nbd = new NbdAddress.Unix(client.runDir().resolve("nbd.sock"));
        long limitBytes = Sizes.parse("limit", limit);
        List<BackupSummary> done = new ArrayList<>();
        try (Repository r = Repository.openOrCreate(repo, newRepository());
                BackupSnapshot snapshot = BackupSnapshot.take(client.runDir(), devices, diff, limitBytes)) {
            BackupRunner runner = new BackupRunner(r, Progress.forConsole(System.err));
            for (String device : devices) {
                BackupRequest req = BackupRequest.of(device, nbd, snapshot.image(device), snapshot.cbt(device));
                done.add(runner.run(full ? req.forcingFull() : req));
            }
        }
        for (BackupSummary s : done) {
            System.err.println(s.format());
            ObjectNode out = ResultPrinter.object().put("device", s.device()).put("point", s.pointId())
                    .put("mode", s.mode()).put("size", s.size()).put("read_bytes", s.stats().bytesRead());
            if (s.stats().dirtyBytes() != null) {
                out.put("dirty_bytes", s.stats().dirtyBytes());
            }
            out.put("changed_chunks", s.stats().changedChunks()).put("new_chunks", s.stats().newChunks())
                    .put("stored_bytes", s.stats().storedBytes()).put("seconds", s.stats().seconds());
            ResultPrinter.print(System.out, out, client.json);
        }
        return 0;
    }

    private RepositoryConfig newRepository() {
        if (chunkSize == null) {
            return RepositoryConfig.of(RepositoryConfig.DEFAULT_CHUNK_SIZE);
        }
        long n = Sizes.parse("chunk size", chunkSize);
        try {
            return RepositoryConfig.of(Math.toIntExact(n));
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new InvalidArgumentException("bad chunk size '" + chunkSize + "': a power of two from 4K to 4M");
        }
    }
}
