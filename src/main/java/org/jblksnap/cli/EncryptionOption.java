package org.jblksnap.cli;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.RepositoryConfig;

import picocli.CommandLine.Option;

/**
 * --encryption of a command that may make a repository (init, backup, copy): aes-256-gcm
 * unless none is asked for. A repository made encrypted needs a password or key file; one
 * made without encryption takes none, so that a key given by mistake is said, not ignored.
 */
final class EncryptionOption {
    @Option(names = "--encryption", defaultValue = RepositoryConfig.ENCRYPTED, paramLabel = "MODE",
            description = "A repository this command makes: aes-256-gcm (the default; needs --password-file or "
                    + "--key-file) or none.")
    String encryption;

    /** Whether a repository made by this command is encrypted; a bad mode, or none with keys given, is an error. */
    boolean encrypted(KeyOptions keys) {
        if (!encryption.equals(RepositoryConfig.ENCRYPTED) && !encryption.equals(RepositoryConfig.NOT_ENCRYPTED)) {
            throw new InvalidArgumentException("bad --encryption '" + encryption + "': aes-256-gcm or none");
        }
        boolean encrypted = encryption.equals(RepositoryConfig.ENCRYPTED);
        if (!encrypted && keys.given()) {
            throw new InvalidArgumentException("--encryption none takes no --password-file, --key-file or "
                    + KeyOptions.PASSWORD_FILE_ENV);
        }
        return encrypted;
    }
}
