package org.jblksnap.cli;

import java.util.concurrent.Callable;

import org.jblksnap.backup.Progress;
import org.jblksnap.backup.Verifier;
import org.jblksnap.backup.VerifyReport;
import org.jblksnap.repo.Repository;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** `jblksnap verify`: re-reads every pack and checks every point (or one point and what it uses). */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Check every pack and point of a repository (or one point).")
final class VerifyCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Option(names = "--point", description = "Only this point (number, or latest with -d).")
    String point;

    @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Repository r = repo.open(false)) {
            Long id = point == null ? null : repo.point(r, point);
            // a pack per core at once, as the daemon's verify jobs: decompressing and hashing is the work
            VerifyReport report = new Verifier(r, Progress.forConsole(System.err),
                    Runtime.getRuntime().availableProcessors()).verify(id);
            System.err.println(report.format());
            var out = ResultPrinter.object().put("result", report.ok() ? "ok" : "damaged").put("points", report.points())
                    .put("packs", report.packs()).put("chunks", report.chunks()).put("bytes", report.bytes())
                    .put("unused_entries", report.unusedEntries()).put("pruned_points", report.prunedPoints())
                    .put("pruned_packs", report.prunedPacks());
            report.problems().forEach(out.putArray("problem")::add);
            ResultPrinter.print(System.out, out, json);
            return report.ok() ? 0 : 1;
        }
    }
}
