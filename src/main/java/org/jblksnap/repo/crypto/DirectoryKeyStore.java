package org.jblksnap.repo.crypto;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.jblksnap.repo.AtomicFiles;

/**
 * Key slots as files {@code NAME.json} in a directory (a repository's {@code keys/}). A slot
 * appears whole: it is written to a temporary file, fsynced, then hard-linked to its name
 * (which fails if the name exists) and the directory fsynced.
 */
public final class DirectoryKeyStore implements KeyStore {
    private static final String SUFFIX = ".json";
    private final Path dir;

    public DirectoryKeyStore(Path dir) {
        this.dir = dir;
    }

    /** The key store of the repository in directory repo. */
    public static DirectoryKeyStore ofRepository(Path repo) {
        return new DirectoryKeyStore(repo.resolve("keys"));
    }

    @Override
    public String location() {
        return dir.toString();
    }

    @Override
    public List<String> names() throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<String> names = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> !AtomicFiles.isTemporary(p)).map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(SUFFIX)).forEach(n -> names.add(n.substring(0, n.length() - SUFFIX.length())));
        }
        return names;
    }

    @Override
    public byte[] read(String name) throws IOException {
        return Files.readAllBytes(file(name));
    }

    @Override
    public void create(String name, byte[] content) throws IOException {
        Files.createDirectories(dir);
        Path tmp = AtomicFiles.writeTemporary(dir, ByteBuffer.wrap(content));
        try {
            Files.createLink(file(name), tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
        AtomicFiles.syncDirectory(dir);
    }

    @Override
    public void delete(String name) throws IOException {
        Path f = file(name);
        if (!Files.deleteIfExists(f)) {
            throw new NoSuchFileException(f.toString());
        }
        AtomicFiles.syncDirectory(dir);
    }

    private Path file(String name) {
        if (!name.matches("[0-9a-f]{1,64}")) {
            throw new IllegalArgumentException("bad key name '" + name + "'");
        }
        return dir.resolve(name + SUFFIX);
    }
}
