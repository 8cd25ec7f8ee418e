package org.jblksnap.cli;

import java.util.concurrent.Callable;

import org.jblksnap.repo.PruneReport;
import org.jblksnap.repo.Pruner;
import org.jblksnap.repo.Repository;
import org.jblksnap.error.InvalidArgumentException;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `jblksnap prune`: keeps the newest N points of each device, then deletes the packs no kept
 * point uses and rewrites those mostly unused.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = "Remove old points, then the stored chunks no kept point uses.")
final class PruneCommand implements Callable<Integer> {
    @Option(names = "--repo", required = true, description = "Repository: a directory, or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX].")
    String repo;

    @Option(names = "--keep", required = true, description = "Points to keep per device (at least 1).")
    int keep;

    @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (keep < 1) {
            throw new InvalidArgumentException("--keep must be at least 1, got " + keep);
        }
        try (Repository r = Repository.open(repo, true)) {
            PruneReport p = Pruner.prune(r, keep);
            System.err.println(p.format());
            var out = ResultPrinter.object().put("removed_packs", p.removedPacks()).put("rewritten_packs", p.rewrittenPacks())
                    .put("removed_entries", p.removedEntries()).put("unused_entries", p.unusedEntriesLeft())
                    .put("freed_bytes", p.freedBytes());
            p.removedPoints().forEach(out.putArray("removed_point")::add);
            p.keptPoints().forEach(out.putArray("kept_point")::add);
            ResultPrinter.print(System.out, out, json);
        }
        return 0;
    }
}
