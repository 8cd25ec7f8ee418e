package org.jblksnap.repo;

import java.nio.file.Path;

/** Prints the live holders of a directory repository as another process's prune sees them: {@code DIR}. */
public final class LiveLocksChild {
    private LiveLocksChild() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("live=" + String.join(",", new DirectoryStore(Path.of(args[0])).liveLocks()));
    }
}
