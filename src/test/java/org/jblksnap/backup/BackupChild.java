package org.jblksnap.backup;

import java.nio.file.Path;

import org.jblksnap.backup.nbd.NbdAddress;
import org.jblksnap.backup.repo.Repository;

/**
 * A backup in a JVM of its own, for tests that kill it:
 * {@code REPO BLOCK_SIZE SOCKET DEVICE GENERATION CHANGES_NUMBER}.
 */
public final class BackupChild {
    private BackupChild() {
    }

    public static void main(String[] args) throws Exception {
        try (Repository repo = Repository.openOrCreate(Path.of(args[0]), Integer.parseInt(args[1]))) {
            BackupRequest req = BackupRequest.of(args[3], new NbdAddress.Unix(Path.of(args[2])), "",
                    new CbtRef(args[4], Integer.parseInt(args[5])));
            System.out.println(new BackupRunner(repo, Progress.forConsole(System.out), 4, 2).run(req).format());
        }
    }
}
