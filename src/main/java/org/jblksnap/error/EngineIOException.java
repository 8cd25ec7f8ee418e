package org.jblksnap.error;

import java.io.IOException;

/**
 * An I/O failure of a device, an image or a difference storage that carries its errno, so
 * every front end reports the same failure the same way (see {@link Errno#of}). I/O failures
 * that carry none are EIO.
 */
public class EngineIOException extends IOException {
    private final Errno errno;

    public EngineIOException(Errno errno, String message) {
        super(message);
        this.errno = errno;
    }

    public EngineIOException(Errno errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    public Errno errno() {
        return errno;
    }
}
