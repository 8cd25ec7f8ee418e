package org.jblksnap.nbd.client;

import java.io.IOException;

/** The server broke the protocol, refused an option, or the connection failed. */
public class NbdException extends IOException {
    public NbdException(String message) {
        super(message);
    }

    public NbdException(String message, Throwable cause) {
        super(message, cause);
    }
}
