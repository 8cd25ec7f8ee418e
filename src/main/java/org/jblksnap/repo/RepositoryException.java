package org.jblksnap.repo;

import java.io.IOException;

/** The repository is not usable as asked: not one, a bad file, busy, no such point. */
public class RepositoryException extends IOException {
    public RepositoryException(String message) {
        super(message);
    }

    public RepositoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
