package org.jblksnap.repo;

import java.nio.file.Path;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.crypto.Credential;
import org.jblksnap.repo.crypto.KeyException;

/**
 * The files that unlock an encrypted repository: a password file or a key file (at most one
 * of them), read only when the repository turns out to be encrypted. What `--password-file`,
 * `--key-file` and `$JBLKSNAP_PASSWORD_FILE` name, what a job's {@code password_file} names,
 * and what a client passes to the daemon.
 */
public record KeyFiles(Path passwordFile, Path keyFile) implements Unlock {
    /** The name of the environment variable that names a password file. */
    public static final String PASSWORD_FILE_ENV = "JBLKSNAP_PASSWORD_FILE";
    public static final KeyFiles NONE = new KeyFiles(null, null);

    public KeyFiles {
        if (passwordFile != null && keyFile != null) {
            throw new InvalidArgumentException("give --password-file or --key-file, not both");
        }
    }

    /** Whether a file was named. */
    public boolean given() {
        return passwordFile != null || keyFile != null;
    }

    /** The credential, read and checked; an error naming what is missing when no file was named. */
    @Override
    public Credential credential(String location) throws KeyException {
        if (keyFile != null) {
            return Credential.keyFile(keyFile);
        }
        if (passwordFile == null) {
            throw new InvalidArgumentException("repository " + location + " is encrypted: give "
                    + "--password-file FILE, set " + PASSWORD_FILE_ENV + ", or give --key-file FILE");
        }
        return Credential.passwordFile(passwordFile);
    }

    /** The same files as absolute paths, for another process (the daemon) to read. */
    public KeyFiles absolute() {
        return new KeyFiles(passwordFile == null ? null : passwordFile.toAbsolutePath(),
                keyFile == null ? null : keyFile.toAbsolutePath());
    }
}
