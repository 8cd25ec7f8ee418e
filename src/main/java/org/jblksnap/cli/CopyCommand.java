package org.jblksnap.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import org.jblksnap.backup.CopySummary;
import org.jblksnap.backup.PointCopier;
import org.jblksnap.backup.Progress;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.params.Sizes;
import org.jblksnap.repo.KeyFiles;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryLocation;

import com.fasterxml.jackson.databind.node.ArrayNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * `jblksnap copy`: the points of one repository that another lacks, copied into it with their
 * chunks, re-encrypted for it (the target is made when it is absent, like backup makes one:
 * encrypted unless --encryption none).
 * The source is unlocked with --from-password-file or --from-key-file, the target with
 * --password-file, $JBLKSNAP_PASSWORD_FILE or --key-file. What it does: {@link PointCopier}.
 */
@Command(name = "copy", mixinStandardHelpOptions = true,
        description = "Copy points with their chunks from one repository into another (only what it lacks).")
final class CopyCommand implements Callable<Integer> {
    @Option(names = "--from", required = true, paramLabel = "REPO",
            description = "Source repository: a directory, or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX].")
    String from;

    @Option(names = "--to", required = true, paramLabel = "REPO",
            description = "Target repository, created when missing (encrypted with --password-file or --key-file, "
                    + "unless --encryption none).")
    String to;

    @Option(names = {"-d", "--device"}, description = "Copy only this device's points.")
    String device;

    @Option(names = "--point", description = "Copy only this point: a number, or latest (with -d).")
    String point;

    @Option(names = "--from-password-file", paramLabel = "FILE", description = "File holding the source's password.")
    Path fromPasswordFile;

    @Option(names = "--from-key-file", paramLabel = "FILE", description = "Key file that unlocks the source.")
    Path fromKeyFile;

    @Mixin
    KeyOptions keys;

    @Mixin
    EncryptionOption encryption;

    @Option(names = "--threads", defaultValue = "4", description = "Blocks copied at once (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (threads < 1 || threads > 64) {
            throw new InvalidArgumentException("--threads " + threads + " is outside 1..64");
        }
        refuseSamePlace();
        boolean encrypted = encryption.encrypted(keys);
        KeyFiles fromKeys = new KeyFiles(fromPasswordFile, fromKeyFile);
        long t0 = System.nanoTime();
        PointCopier.Report report;
        try (Repository source = Repository.open(from, false, fromKeys)) {
            List<Point> points = PointCopier.select(source, device, point);
            try (Repository target = Repository.openOrCreate(to, source.config().likeThis().withEncryption(encrypted),
                    keys.files())) {
                report = new PointCopier(source, target, Progress.forConsole(System.err), threads).copy(points);
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long read = 0;
        long stored = 0;
        ArrayNode copied = ResultPrinter.array();
        for (CopySummary s : report.copied()) {
            System.err.println(s.format());
            read += s.bytesRead();
            stored += s.storedBytes();
            copied.add(ResultPrinter.JSON.valueToTree(s.fields()));
        }
        System.err.printf("copied %d points (%d there already%s): read %s, stored %s in %.1f s%n",
                report.copied().size(), report.skipped(),
                report.gone() == 0 ? "" : ", " + report.gone() + " removed from the source by a prune meanwhile",
                Sizes.bytes(read), Sizes.bytes(stored), seconds);
        ResultPrinter.print(System.out, ResultPrinter.object().put("copied", report.copied().size())
                .put("skipped", report.skipped()).put("gone", report.gone()).put("read_bytes", read)
                .put("stored_bytes", stored).put("seconds", seconds).set("points", copied), json);
        if (point != null && report.gone() > 0) {
            System.err.println("jblksnap: point " + point + " was removed from " + from + " by a prune while it was copied");
            return 1;
        }
        return 0;
    }

    /** The same place as source and target (the same directory, or the same URL) is refused before anything is opened. */
    private void refuseSamePlace() throws IOException {
        String a = RepositoryLocation.absolute(from);
        String b = RepositoryLocation.absolute(to);
        boolean same = a.equals(b);
        if (!same && !from.startsWith("s3:") && !to.startsWith("s3:") && Files.exists(Path.of(a))
                && Files.exists(Path.of(b))) {
            same = Files.isSameFile(Path.of(a), Path.of(b));
        }
        if (same) {
            throw new InvalidArgumentException("copy from " + from + " to " + to + ": they are the same repository");
        }
    }
}
