package org.jblksnap.repo.crypto;

import java.io.IOException;
import java.util.List;

/**
 * Where a repository keeps its key slots: small named blobs, written once and deleted, never
 * changed: a repository's {@code keys/} in its store (org.jblksnap.repo.StoreKeys); any storage that can
 * create a name only if absent, list, read and delete can host it.
 */
public interface KeyStore {
    /** Where the keys are, for messages. */
    String location();

    /** The names of the stored key slots, in no particular order. */
    List<String> names() throws IOException;

    /** A slot's bytes; NoSuchFileException if it is gone. */
    byte[] read(String name) throws IOException;

    /** Stores a new slot durably and whole; FileAlreadyExistsException if the name is taken. */
    void create(String name, byte[] content) throws IOException;

    /** Removes a slot durably; NoSuchFileException if it is gone. */
    void delete(String name) throws IOException;
}
