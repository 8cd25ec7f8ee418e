package org.jblksnap.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.RepositoryException;
import org.jblksnap.repo.crypto.DirectoryKeyStore;
import org.jblksnap.repo.crypto.KeyRing;

/**
 * The key ring of an existing repository, which must be an encrypted one. Key commands do not
 * open the repository (nor take its lock): they touch only keys/.
 */
final class RepositoryKeys {
    private RepositoryKeys() {
    }

    /** Checks that repo is a repository with keys, and returns its ring. */
    static KeyRing of(Path repo) throws IOException {
        if (!Files.isRegularFile(repo.resolve("repository.json"))) {
            throw new RepositoryException(repo + " is not a backup repository ("
                    + (Files.isDirectory(repo) ? "no repository.json" : "no such directory") + ")");
        }
        DirectoryKeyStore store = DirectoryKeyStore.ofRepository(repo);
        if (store.names().isEmpty()) {
            throw new InvalidArgumentException("repository " + repo + " is not encrypted (it has no keys)");
        }
        return new KeyRing(store);
    }
}
