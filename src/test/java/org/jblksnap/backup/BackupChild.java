package org.jblksnap.backup;

import java.nio.file.Path;

import org.jblksnap.nbd.client.NbdAddress;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;

/**
 * A backup in a JVM of its own, for tests that kill it:
 * {@code REPO CHUNK_SIZE PACK_SIZE SOCKET DEVICE GENERATION CHANGES_NUMBER}. It prints
 * {@value #STARTED} once the repository is open, just before the backup starts.
 */
public final class BackupChild {
    static final String STARTED = "backup started";

    private BackupChild() {
    }

    public static void main(String[] args) throws Exception {
        RepositoryConfig config = RepositoryConfig.of(Integer.parseInt(args[1]), Long.parseLong(args[2]));
        try (Repository repo = Repository.openOrCreate(Path.of(args[0]), config)) {
            BackupRequest req = BackupRequest.of(args[4], new NbdAddress.Unix(Path.of(args[3])), "",
                    new CbtRef(args[5], Integer.parseInt(args[6])));
            System.out.println(STARTED);
            System.out.println(new BackupRunner(repo, Progress.forConsole(System.out), 4, 2).run(req).format());
        }
    }
}
