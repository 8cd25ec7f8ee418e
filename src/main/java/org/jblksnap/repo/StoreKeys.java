package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;

import org.jblksnap.repo.crypto.KeyStore;

/**
 * A repository's key slots as objects {@code keys/NAME.json} of its store, a directory or a
 * bucket alike ({@code docs/REPOSITORY.md#key-slots}). A slot appears whole and is never
 * replaced: it is made with the store's create-if-absent (a hard link in a directory,
 * {@code If-None-Match: *} in a bucket).
 */
public final class StoreKeys implements KeyStore {
    private static final String PREFIX = "keys/";
    private static final String SUFFIX = ".json";

    private final ObjectStore store;

    public StoreKeys(ObjectStore store) {
        this.store = store;
    }

    @Override
    public String location() {
        return store.describe("keys");
    }

    @Override
    public List<String> names() throws IOException {
        List<String> names = new ArrayList<>();
        List<ObjectStore.Stored> all;
        try {
            all = store.list(PREFIX);
        } catch (NoSuchFileException e) {
            return names; // a directory repository without keys/
        }
        for (ObjectStore.Stored o : all) {
            String n = o.name().substring(PREFIX.length());
            if (n.endsWith(SUFFIX) && isName(n.substring(0, n.length() - SUFFIX.length()))) {
                names.add(n.substring(0, n.length() - SUFFIX.length()));
            }
        }
        return names;
    }

    @Override
    public byte[] read(String name) throws IOException {
        return store.get(object(name));
    }

    @Override
    public void create(String name, byte[] content) throws IOException {
        if (!store.create(object(name), ByteBuffer.wrap(content))) {
            throw new FileAlreadyExistsException(store.describe(object(name)));
        }
    }

    @Override
    public void delete(String name) throws IOException {
        String o = object(name);
        store.get(o); // NoSuchFileException when it is gone already
        store.delete(o);
    }

    private static String object(String name) {
        if (!isName(name)) {
            throw new IllegalArgumentException("bad key name '" + name + "'");
        }
        return PREFIX + name + SUFFIX;
    }

    private static boolean isName(String name) {
        return name.matches("[0-9a-f]{1,64}");
    }
}
