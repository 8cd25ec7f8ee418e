package org.jblksnap.cli;

import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.concurrent.Callable;

import org.jblksnap.repo.ObjectStore;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.jblksnap.repo.RepositoryLocation;
import org.jblksnap.repo.crypto.Credential;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * `jblksnap init`: a new repository in a directory or a bucket, encrypted unless --encryption
 * none. Everything that can be refused (the options, the password or key file, a place that
 * is not empty) is checked before anything is written; the store writes the key slot before
 * the settings, so that a repository whose settings are there is whole.
 */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Create a repository; encrypted with a password or key file unless --encryption none.")
final class InitCommand implements Callable<Integer> {
    @Option(names = "--repo", required = true,
            description = "Repository: a directory (absent or empty), or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX].")
    String repo;

    @Mixin
    EncryptionOption encryption;

    @Option(names = "--chunk-size", description = "Chunk size, a power of two from 4K to 4M (default 64K).")
    String chunkSize;

    @Mixin
    KeyOptions keys;

    @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        boolean encrypted = encryption.encrypted(keys);
        RepositoryConfig config = BackupCommand.newRepository(chunkSize).withEncryption(encrypted);
        boolean newKeyFile = encrypted && keys.keyFile().filter(f -> !Files.exists(f)).isPresent();
        Credential given = encrypted && !newKeyFile ? keys.credential(repo) : null;
        Credential[] used = {given};
        try (ObjectStore store = RepositoryLocation.open(repo)) {
            // A new key file is written once the place proved empty, not before.
            String key = Repository.create(store, config, !encrypted ? null : location -> used[0] = newKeyFile
                    ? Credential.newKeyFile(keys.keyFile().get(), new SecureRandom()) : given);
            Credential credential = used[0];
            var out = ResultPrinter.object().put("repository", store.location()).put("encryption", encryption.encryption);
            if (encrypted) {
                out.put("key", key);
                if (newKeyFile) {
                    out.put("key_file_created", credential.source().toString());
                }
                System.err.println("jblksnap: keep " + credential.describe() + " safe: without it the backups in "
                        + store.location() + " cannot be read");
            }
            ResultPrinter.print(System.out, out, json);
        }
        return 0;
    }
}
