package org.jblksnap.error;

import java.io.IOException;

/** Image I/O after its snapshot was destroyed (ESHUTDOWN for an NBD client). */
public final class ImageClosedException extends IOException {
    public ImageClosedException(String message) {
        super(message);
    }
}
