package org.jblksnap.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.repo.crypto.Credential;
import org.jblksnap.repo.crypto.DirectoryKeyStore;
import org.jblksnap.repo.crypto.KeyRing;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * `jblksnap init`: a new repository, encrypted unless --encryption none. Everything that can
 * be refused (the options, the password or key file, a directory that is not empty) is
 * checked before anything is written; a failure after the repository was made removes it.
 */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Create a repository; encrypted with a password or key file unless --encryption none.")
final class InitCommand implements Callable<Integer> {
    static final String ENCRYPTED = "aes-256-gcm";
    static final String NONE = "none";

    @Option(names = "--repo", required = true, description = "Repository directory (absent or empty).")
    Path repo;

    @Option(names = "--encryption", defaultValue = ENCRYPTED, paramLabel = "MODE",
            description = "aes-256-gcm (default) or none.")
    String encryption;

    @Option(names = "--chunk-size", description = "Chunk size, a power of two from 4K to 4M (default 64K).")
    String chunkSize;

    @Mixin
    KeyOptions keys;

    @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (!encryption.equals(ENCRYPTED) && !encryption.equals(NONE)) {
            throw new InvalidArgumentException("bad --encryption '" + encryption + "': aes-256-gcm or none");
        }
        boolean encrypted = encryption.equals(ENCRYPTED);
        if (!encrypted && keys.given()) {
            throw new InvalidArgumentException("--encryption none takes no --password-file, --key-file or "
                    + KeyOptions.PASSWORD_FILE_ENV);
        }
        RepositoryConfig config = BackupCommand.newRepository(chunkSize);
        if (Files.exists(repo) && (!Files.isDirectory(repo) || !isEmptyDirectory(repo))) {
            throw new InvalidArgumentException("cannot create a repository in " + repo + ": "
                    + (Files.isDirectory(repo) ? "it is not empty" : "it is not a directory"));
        }
        SecureRandom random = new SecureRandom();
        Credential credential = null;
        boolean newKeyFile = false;
        if (encrypted) {
            if (keys.keyFile().filter(f -> !Files.exists(f)).isPresent()) {
                credential = Credential.newKeyFile(keys.keyFile().get(), random);
                newKeyFile = true;
            } else {
                credential = keys.credential(repo);
            }
        }
        boolean existed = Files.exists(repo);
        Repository.create(repo, config);
        var out = ResultPrinter.object().put("repository", repo.toString()).put("encryption", encryption);
        if (encrypted) {
            try {
                KeyRing ring = new KeyRing(DirectoryKeyStore.ofRepository(repo));
                out.put("key", ring.add(ring.newMasterKey(), credential));
            } catch (IOException | RuntimeException e) {
                removeContent(repo, existed);
                throw e;
            }
            if (newKeyFile) {
                out.put("key_file_created", credential.source().toString());
            }
            System.err.println("jblksnap: keep " + credential.describe() + " safe: without it the backups in " + repo
                    + " cannot be read");
        }
        ResultPrinter.print(System.out, out, json);
        return 0;
    }

    private static boolean isEmptyDirectory(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    /** Undoes a half-made repository: its content, and the directory if init made it. */
    private static void removeContent(Path repo, boolean keepDirectory) throws IOException {
        try (Stream<Path> all = Files.walk(repo)) {
            for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
                if (!(keepDirectory && p.equals(repo))) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
