package org.jblksnap.error;

/**
 * Image I/O after its snapshot was destroyed: ESHUTDOWN, which tells an NBD client to
 * disconnect and a FUSE reader that the file's device is gone.
 */
public final class ImageClosedException extends EngineIOException {
    public ImageClosedException(String message) {
        super(Errno.ESHUTDOWN, message);
    }
}
