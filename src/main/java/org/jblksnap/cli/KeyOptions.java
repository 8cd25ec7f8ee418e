package org.jblksnap.cli;

import java.nio.file.Path;
import java.util.Optional;

import org.jblksnap.repo.KeyFiles;
import org.jblksnap.repo.crypto.Credential;
import org.jblksnap.repo.crypto.KeyException;

import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Option;

/**
 * How a command unlocks an encrypted repository (a mixin next to --repo): --password-file
 * FILE, else the file named by JBLKSNAP_PASSWORD_FILE, or --key-file FILE. The file is read
 * before the command changes anything, so a missing or empty one changes nothing.
 */
final class KeyOptions {
    static final String PASSWORD_FILE_ENV = KeyFiles.PASSWORD_FILE_ENV;

    @Option(names = "--password-file", paramLabel = "FILE",
            description = "File holding the repository's password (default: the file named by $" + PASSWORD_FILE_ENV + ").")
    Path passwordFile;

    @Option(names = "--key-file", paramLabel = "FILE", description = "Key file that unlocks the repository instead of a password.")
    Path keyFile;

    /** The files given, read only when the repository is encrypted. */
    KeyFiles files() {
        if (keyFile != null) {
            return new KeyFiles(passwordFile, keyFile);
        }
        String env = System.getenv(PASSWORD_FILE_ENV);
        return new KeyFiles(passwordFile != null ? passwordFile
                : env == null || env.isEmpty() ? null : Path.of(env), null);
    }

    /** The key file given with --key-file, if any (init writes a new one there when it is missing). */
    Optional<Path> keyFile() {
        return Optional.ofNullable(files().keyFile());
    }

    /** The credential given, read and checked; an error names what is missing. */
    Credential credential(Object repo) throws KeyException {
        return files().credential(repo.toString());
    }

    /**
     * Adds the files given, as absolute paths, to a daemon request ({@code password_file},
     * {@code key_file}: the daemon reads them, docs/CONTROL.md).
     */
    void putInto(ObjectNode args) {
        KeyFiles k = files().absolute();
        if (k.passwordFile() != null) {
            args.put("password_file", k.passwordFile().toString());
        }
        if (k.keyFile() != null) {
            args.put("key_file", k.keyFile().toString());
        }
    }

    /** True when the command line or the environment names a password or key file. */
    boolean given() {
        return files().given();
    }
}
