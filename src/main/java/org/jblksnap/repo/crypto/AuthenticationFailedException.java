package org.jblksnap.repo.crypto;

import java.io.IOException;

/** A sealed object did not open: it was changed, truncated, or is another object than the one asked for. */
public final class AuthenticationFailedException extends IOException {
    private final ObjectLabel label;

    AuthenticationFailedException(ObjectLabel label, String why) {
        super("authentication failed for " + label + ": " + why);
        this.label = label;
    }

    /** The object that did not open. */
    public ObjectLabel label() {
        return label;
    }
}
