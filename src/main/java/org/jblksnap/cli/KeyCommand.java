package org.jblksnap.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.Callable;

import org.jblksnap.repo.crypto.Credential;
import org.jblksnap.repo.crypto.KeyRing;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * `jblksnap key add|remove|list`: the passwords and key files of an encrypted repository.
 * Each wraps the same master key, so adding or removing one rewrites no data.
 */
@Command(name = "key", mixinStandardHelpOptions = true,
        description = "Add, remove or list the passwords and key files that unlock a repository.",
        subcommands = {HelpCommand.class, KeyCommand.Add.class, KeyCommand.Remove.class, KeyCommand.List.class})
final class KeyCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** The new secret of key add: a password file, or a key file (written when missing). */
    static final class NewSecret {
        @Option(names = "--new-password-file", paramLabel = "FILE", required = true,
                description = "File holding the new password.")
        Path passwordFile;

        @Option(names = "--new-key-file", paramLabel = "FILE", required = true,
                description = "Key file to add; a new random one is written there when it does not exist.")
        Path keyFile;
    }

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = "Add a password or key file; unlock with an existing one.")
    static final class Add implements Callable<Integer> {
        @Option(names = "--repo", required = true,
                description = "Repository: a directory, or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX].")
        String repo;

        @Mixin
        KeyOptions keys;

        @ArgGroup(multiplicity = "1")
        NewSecret secret;

        @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            Credential unlock = keys.credential(repo);
            boolean writeKeyFile = secret.keyFile != null && !Files.exists(secret.keyFile);
            Credential added = secret.passwordFile != null ? Credential.passwordFile(secret.passwordFile)
                    : writeKeyFile ? null : Credential.keyFile(secret.keyFile);
            var out = ResultPrinter.object();
            try (RepositoryKeys keysOf = RepositoryKeys.open(repo)) {
                KeyRing ring = keysOf.ring();
                KeyRing.Unlocked u = ring.unlock(unlock);
                if (added == null) {
                    added = Credential.newKeyFile(secret.keyFile, new SecureRandom());
                }
                out.put("key", ring.add(u.key(), added)).put("kind", added.kind().json());
            }
            if (writeKeyFile) {
                out.put("key_file_created", secret.keyFile.toString());
            }
            ResultPrinter.print(System.out, out, json);
            return 0;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = "Remove a key; unlock with another one. The last key is never removed.")
    static final class Remove implements Callable<Integer> {
        @Option(names = "--repo", required = true,
                description = "Repository: a directory, or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX].")
        String repo;

        @Mixin
        KeyOptions keys;

        @Parameters(paramLabel = "ID", description = "The key to remove (key list shows them).")
        String id;

        @Override
        public Integer call() throws Exception {
            Credential unlock = keys.credential(repo);
            try (RepositoryKeys keysOf = RepositoryKeys.open(repo)) {
                keysOf.ring().remove(id, keysOf.ring().unlock(unlock));
            }
            ResultPrinter.print(System.out, ResultPrinter.object().put("removed", id), false);
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the keys: id, kind (passphrase or key-file), KDF, when and on which host made.")
    static final class List implements Callable<Integer> {
        @Option(names = "--repo", required = true,
                description = "Repository: a directory, or s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX].")
        String repo;

        @Option(names = {"-j", "--json"}, description = "Print JSON instead of key=value lines.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            var out = ResultPrinter.object();
            var all = out.putArray("key");
            try (RepositoryKeys keysOf = RepositoryKeys.open(repo)) {
                for (KeyRing.Info k : keysOf.ring().list()) {
                    var o = all.addObject().put("id", k.id()).put("kind", k.kind()).put("kdf", k.kdf());
                    if (k.created() != null) {
                        o.put("created", k.created()).put("host", k.host());
                    }
                }
            }
            ResultPrinter.print(System.out, out, json);
            return 0;
        }
    }
}
