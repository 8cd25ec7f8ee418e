package org.jblksnap.repo;

/**
 * A prune loop in a JVM of its own, for {@link ConcurrentPruneS3Test}: {@code REPO SECONDS KEEP}.
 * Until the time is up it prunes (opened for prune, beside the backups) and prints the report
 * as {@code pruned REPORT}.
 */
public final class PruneLoopChild {
    private PruneLoopChild() {
    }

    public static void main(String[] args) throws Exception {
        long end = System.nanoTime() + Long.parseLong(args[1]) * 1_000_000_000L;
        int keep = Integer.parseInt(args[2]);
        while (System.nanoTime() < end) {
            try (Repository r = Repository.openForPrune(args[0], Unlock.NONE)) {
                System.out.println("pruned " + Pruner.prune(r, keep).format());
            }
            Thread.sleep(300);
        }
    }
}
