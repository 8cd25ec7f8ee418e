package org.jblksnap.backup;

import java.nio.file.Path;

import org.jblksnap.repo.Pruner;
import org.jblksnap.repo.Repository;

/**
 * A prune in a JVM of its own, for tests that kill it: {@code REPO KEEP}. It prints
 * {@value #STARTED} once the repository is open for prune (backups may run beside it), just before the prune starts.
 */
public final class PruneChild {
    static final String STARTED = "prune started";

    private PruneChild() {
    }

    public static void main(String[] args) throws Exception {
        try (Repository repo = Repository.openForPrune(Path.of(args[0]))) {
            System.out.println(STARTED);
            System.out.println(Pruner.prune(repo, Integer.parseInt(args[1])).format());
        }
    }
}
