package org.jblksnap.repo;

import java.nio.file.Path;

/**
 * Opens a directory repository shared, as a backup or restore of another process does:
 * {@code DIR}. Prints {@code ready} just before it asks for the lock and {@code opened} once it
 * holds it; an error ends it with a non-zero exit.
 */
public final class OpenSharedChild {
    private OpenSharedChild() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        System.out.flush();
        try (Repository r = Repository.open(Path.of(args[0]), false)) {
            System.out.println("opened");
        }
    }
}
