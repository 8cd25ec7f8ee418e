package org.jblksnap.nbd;

/** A request refused with an NBD error value (one of the Nbd.E* numbers) and a message. */
final class NbdException extends Exception {
    private final int error;

    NbdException(int error, String message) {
        super(message, null, false, false);
        this.error = error;
    }

    int error() {
        return error;
    }
}
