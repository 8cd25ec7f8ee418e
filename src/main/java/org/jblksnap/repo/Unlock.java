package org.jblksnap.repo;

import java.io.IOException;

import org.jblksnap.repo.crypto.Credential;

/**
 * How an encrypted repository is unlocked: the password or key file the user gave, asked for
 * only when the repository turns out to be encrypted, so that a command on an unencrypted one
 * needs none.
 */
@FunctionalInterface
public interface Unlock {
    /** No credential: opening an encrypted repository fails, saying so. */
    Unlock NONE = location -> {
        throw new RepositoryException("repository " + location + " is encrypted: give its password file or key file");
    };

    /** The credential for the repository at location; an error saying what is missing when none was given. */
    Credential credential(String location) throws IOException;
}
