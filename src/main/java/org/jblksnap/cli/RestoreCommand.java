package org.jblksnap.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.jblksnap.backup.Progress;
import org.jblksnap.backup.RestoreSummary;
import org.jblksnap.backup.Restorer;
import org.jblksnap.repo.Repository;

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

    @Override
    public Integer call() throws Exception {
        try (Repository r = Repository.open(repo.repo, false)) {
            long id = repo.point(r, point);
            RestoreSummary s = new Restorer(r, Progress.forConsole(System.err), 2).restore(id, to);
            System.err.println(s.format());
            ResultPrinter.print(System.out, ResultPrinter.object().put("point", id).put("target", to.toString())
                    .put("size", s.size()).put("written_bytes", s.bytesWritten()).put("sparse", s.sparse()), json);
        }
        return 0;
    }
}
