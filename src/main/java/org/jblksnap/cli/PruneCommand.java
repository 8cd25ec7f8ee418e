package org.jblksnap.cli;

import java.time.ZoneId;
import java.util.concurrent.Callable;

import org.jblksnap.repo.PruneReport;
import org.jblksnap.repo.Pruner;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.Retention;
import org.jblksnap.error.InvalidArgumentException;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * `jblksnap prune`: keeps the points of each device the keep rules keep (restic's and PBS's
 * {@code --keep-*}, in this machine's time zone, see {@link Retention}), removes the others,
 * then condemns the packs no kept point uses and rewrites those mostly unused; condemned packs
 * are deleted once the backups that were running have ended (at once when none was). Backups,
 * restores and checks may run meanwhile; another prune may not.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = "Remove old points, then the stored chunks no kept point uses.")
final class PruneCommand implements Callable<Integer> {
    @Option(names = "--repo", required = true, description = "Repository: a directory, or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX].")
    String repo;

    @Mixin
    KeyOptions keys;

    @Option(names = "--keep", description = "Points to keep per device (at least 1); the same as --keep-last.")
    Integer keep;

    @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
    boolean json;

    @Option(names = "--keep-last", description = "Keep the newest N points (-1: all).")
    int keepLast;

    @Option(names = "--keep-hourly", description = "Keep the newest point of each of the last N hours with one.")
    int keepHourly;

    @Option(names = "--keep-daily", description = "Keep the newest point of each of the last N days with one.")
    int keepDaily;

    @Option(names = "--keep-weekly", description = "Keep the newest point of each of the last N ISO weeks with one.")
    int keepWeekly;

    @Option(names = "--keep-monthly", description = "Keep the newest point of each of the last N months with one.")
    int keepMonthly;

    @Option(names = "--keep-yearly", description = "Keep the newest point of each of the last N years with one.")
    int keepYearly;

    @Override
    public Integer call() throws Exception {
        if (keep != null) {
            if (keep < 1) {
                throw new InvalidArgumentException("--keep must be at least 1, got " + keep);
            }
            if (keepLast != 0) {
                throw new InvalidArgumentException("--keep and --keep-last say the same: give one");
            }
            keepLast = keep;
        }
        Retention retention;
        try {
            retention = new Retention(keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly);
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException(e.getMessage().replace("keep_", "--keep-"));
        }
        try (Repository r = Repository.openForPrune(repo, keys.files())) {
            PruneReport p = Pruner.prune(r, retention, ZoneId.systemDefault());
            System.err.println(p.format());
            var out = ResultPrinter.object().put("removed_packs", p.removedPacks()).put("rewritten_packs", p.rewrittenPacks())
                    .put("removed_entries", p.removedEntries()).put("unused_entries", p.unusedEntriesLeft())
                    .put("freed_bytes", p.freedBytes()).put("condemned_packs", p.condemnedPacks())
                    .put("kept_condemned_packs", p.keptCondemnedPacks()).put("waiting_packs", p.waitingPacks());
            p.removedPoints().forEach(out.putArray("removed_point")::add);
            p.keptPoints().forEach(out.putArray("kept_point")::add);
            ResultPrinter.print(System.out, out, json);
        }
        return 0;
    }
}
