package org.jblksnap.cli;

import java.nio.file.Path;
import java.util.Optional;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.crypto.Credential;
import org.jblksnap.repo.crypto.KeyException;

import picocli.CommandLine.Option;

/**
 * How a command unlocks an encrypted repository (a mixin next to --repo): --password-file
 * FILE, else the file named by JBLKSNAP_PASSWORD_FILE, or --key-file FILE. The file is read
 * before the command changes anything, so a missing or empty one changes nothing.
 */
final class KeyOptions {
    static final String PASSWORD_FILE_ENV = "JBLKSNAP_PASSWORD_FILE";

    @Option(names = "--password-file", paramLabel = "FILE",
            description = "File holding the repository's password (default: the file named by $" + PASSWORD_FILE_ENV + ").")
    Path passwordFile;

    @Option(names = "--key-file", paramLabel = "FILE", description = "Key file that unlocks the repository instead of a password.")
    Path keyFile;

    /** The key file given with --key-file, if any (init writes a new one there when it is missing). */
    Optional<Path> keyFile() {
        if (keyFile != null && passwordFile != null) {
            throw new InvalidArgumentException("give --password-file or --key-file, not both");
        }
        return Optional.ofNullable(keyFile);
    }

    /** The password file given with --password-file or $JBLKSNAP_PASSWORD_FILE, if any. */
    Optional<Path> passwordFile() {
        if (passwordFile != null || keyFile().isPresent()) {
            return Optional.ofNullable(passwordFile);
        }
        String env = System.getenv(PASSWORD_FILE_ENV);
        return env == null || env.isEmpty() ? Optional.empty() : Optional.of(Path.of(env));
    }

    /** The credential given, read and checked; an error names what is missing. */
    Credential credential(Object repo) throws KeyException {
        Optional<Path> k = keyFile();
        if (k.isPresent()) {
            return Credential.keyFile(k.get());
        }
        Path p = passwordFile().orElseThrow(() -> new InvalidArgumentException("repository " + repo
                + " is encrypted: give --password-file FILE, set " + PASSWORD_FILE_ENV + ", or give --key-file FILE"));
        return Credential.passwordFile(p);
    }

    /** True when the command line or the environment names a password or key file. */
    boolean given() {
        return keyFile().isPresent() || passwordFile().isPresent();
    }
}
