package org.jblksnap.nbd.server;

/** A request refused with an NBD error value (one of the Nbd.E* numbers) and a message. */
final class RefusedRequestException extends Exception {
    private final int error;

    RefusedRequestException(int error, String message) {
        super(message, null, false, false);
        this.error = error;
    }

    int error() {
        return error;
    }
}
