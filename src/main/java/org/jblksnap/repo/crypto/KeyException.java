package org.jblksnap.repo.crypto;

import java.io.IOException;

/** The repository's keys cannot be used as asked: a wrong password, a foreign key file, a missing or bad key. */
public final class KeyException extends IOException {
    public KeyException(String message) {
        super(message);
    }

    KeyException(String message, Throwable cause) {
        super(message, cause);
    }
}
