package org.jblksnap.cli;

import java.io.IOException;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.ObjectStore;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryLocation;
import org.jblksnap.repo.StoreKeys;
import org.jblksnap.repo.crypto.KeyRing;

/**
 * The key ring of an existing repository (a directory or a bucket), which must be an encrypted
 * one. Key commands do not open the repository (nor take its lock): they touch only keys/.
 */
final class RepositoryKeys implements AutoCloseable {
    private final ObjectStore store;
    private final KeyRing ring;

    private RepositoryKeys(ObjectStore store) {
        this.store = store;
        this.ring = new KeyRing(new StoreKeys(store));
    }

    /** Checks that the location holds an encrypted repository, and returns its ring. */
    static RepositoryKeys open(String location) throws IOException {
        ObjectStore store = RepositoryLocation.open(location);
        try {
            store.checkReachable();
            if (!Repository.isEncrypted(store)) {
                throw new InvalidArgumentException("repository " + store.location() + " is not encrypted (it has no keys)");
            }
            return new RepositoryKeys(store);
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    KeyRing ring() {
        return ring;
    }

    @Override
    public void close() throws IOException {
        store.close();
    }
}
