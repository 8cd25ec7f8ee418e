package org.jblksnap.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import org.jblksnap.backup.BackupRequest;
import org.jblksnap.backup.BackupRunner;
import org.jblksnap.backup.BackupSummary;
import org.jblksnap.backup.Progress;
import org.jblksnap.control.ControlClient;
import org.jblksnap.nbd.client.NbdClient;
import org.jblksnap.nbd.client.NbdUri;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.repo.RepositoryLocation;
import org.jblksnap.repo.S3Credentials;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.params.Sizes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * `jblksnap backup`: one snapshot of every named device at one instant, each image read
 * into the repository by the daemon (only what the CBT reports changed since the device's
 * last point, when the generation is the same), then the snapshot destroyed, also when the
 * backup fails; or, with --source, a foreign NBD export read by this process.
 */
@Command(name = "backup", mixinStandardHelpOptions = true,
        description = "Back up devices of the daemon into a repository (full first, then incremental by CBT).")
final class BackupCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;

    @Option(names = {"-d", "--device"}, required = true, description = "Device to back up (repeatable).")
    List<String> devices;

    @Option(names = "--repo", required = true, description = "Repository: a directory, or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX] "
            + "(created when missing: encrypted with --password-file or --key-file, unless --encryption none).")
    String repo;

    @Mixin
    KeyOptions keys;

    @Mixin
    EncryptionOption encryption;

    @Option(names = "--storage", description = "Difference storage of the snapshot (default: the system temp dir).")
    Path storage;

    @Option(names = "--limit", defaultValue = "4G", description = "Difference storage limit (default ${DEFAULT-VALUE}).")
    String limit;

    @Option(names = "--chunk-size", description = "Chunk size of a new repository (its unit of storage and dedup), "
            + "a power of two from 4K to 4M (default 64K, the CBT's block); an existing repository keeps its own.")
    String chunkSize;

    @Option(names = "--full", description = "Read everything even when the CBT knows what changed.")
    boolean full;

    @Option(names = "--source", paramLabel = "URI", description = "Back up this NBD export instead of a daemon's "
            + "device (nbd://HOST[:PORT]/EXPORT, nbd+unix:///EXPORT?socket=PATH, or nbds:// and nbds+unix:// with "
            + "?tls-certificates=DIR), e.g. a VM disk from qemu-nbd; "
            + "-d names it in the repository. No daemon and no snapshot: the server must serve a stable image.")
    String source;

    @Option(names = "--bitmap", paramLabel = "NAME", description = "With --source: the server's dirty bitmap "
            + "(qemu:dirty-bitmap:NAME, as qemu-nbd -B NAME exports it) that holds every block changed since "
            + "this device's last point; the backup reads only those. Without it every run reads everything.")
    String bitmap;

    @Override
    public Integer call() throws Exception {
        if (source == null) {
            return fromDaemon();
        }
        BackupSummary s = fromSource();
        System.err.println(s.format());
        ResultPrinter.print(System.out, ResultPrinter.JSON.valueToTree(s.fields()), client.json);
        return 0;
    }

    /**
     * One snapshot of the daemon's devices at one instant, each image backed up, the snapshot
     * destroyed: the daemon does it in its own process (the backup verb), after the runs queued
     * on the devices, and streams its progress here. Ctrl-C closes the connection, which cancels
     * the run in the daemon within a second (snapshot destroyed, nothing half-committed).
     */
    private int fromDaemon() throws IOException {
        if (bitmap != null) {
            throw new InvalidArgumentException("--bitmap is for --source; the daemon's devices use their CBT");
        }
        ObjectNode args = ControlClient.args().put("repo", RepositoryLocation.absolute(repo))
                .put("limit", Sizes.parse("limit", limit)).put("chunk_size", newRepository(chunkSize).chunkSize())
                .put("full", full).put("encryption", encryption.encrypted(keys) ? RepositoryConfig.ENCRYPTED
                        : RepositoryConfig.NOT_ENCRYPTED);
        devices.forEach(args.putArray("devices")::add);
        if (storage != null) {
            args.put("storage", storage.toAbsolutePath().toString());
        }
        keys.putInto(args);
        S3Credentials s3 = S3Credentials.fromEnvironment();
        if (repo.startsWith("s3:")) {
            // the bucket is reached with this command's keys, as when it reached it itself
            ObjectNode aws = args.putObject("s3");
            aws.put("access_key_id", s3.accessKeyId()).put("secret_access_key", s3.secretAccessKey())
                    .put("session_token", s3.sessionToken()).put("region", s3.region());
        }
        JsonNode r = FollowedRun.call(client.runDir(), "backup", args, "the daemon cancels the backup");
        for (int i = 0; i < r.path("devices").size(); i++) {
            System.err.println(r.path("report").path(i).asText());
            ResultPrinter.print(System.out, r.path("devices").get(i), client.json);
        }
        return 0;
    }

    /** The export of a foreign NBD server, as it is now, incremental by the bitmap named. */
    private BackupSummary fromSource() throws Exception {
        if (devices.size() != 1) {
            throw new InvalidArgumentException("--source backs up one export: give one -d NAME for it in the repository");
        }
        if (storage != null) {
            throw new InvalidArgumentException("--storage is for a daemon's snapshot; --source takes none");
        }
        NbdUri uri = NbdUri.parse(source);
        BackupRequest req = BackupRequest.of(devices.get(0), uri.address(), uri.export(), null);
        if (bitmap != null) {
            req = req.withDirtyBitmap(Nbd.CONTEXT_DIRTY_BITMAP_PREFIX + bitmap);
        }
        try (NbdClient probe = NbdClient.connect(uri.address(), uri.export(), List.of())) {
            // a server that is not there fails here, before a repository is created for nothing
        }
        RepositoryConfig config = newRepository(chunkSize).withEncryption(encryption.encrypted(keys));
        try (Repository r = Repository.openOrCreate(repo, config, keys.files())) {
            return new BackupRunner(r, Progress.forConsole(System.err)).run(full ? req.forcingFull() : req);
        }
    }

    /** The settings of a new repository with --chunk-size (null: the default). */
    static RepositoryConfig newRepository(String chunkSize) {
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
