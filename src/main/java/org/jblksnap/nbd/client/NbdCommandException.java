package org.jblksnap.nbd.client;

/**
 * The server answered a command with an error (an errno, perhaps with a message). The
 * connection stays usable.
 */
public final class NbdCommandException extends NbdException {
    private final int errno;

    public NbdCommandException(String command, int errno, String serverMessage) {
        super(command + " failed: " + errnoName(errno)
                + (serverMessage == null || serverMessage.isEmpty() ? "" : " (" + serverMessage + ")"));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    /** The errno names the protocol defines; others by number. */
    static String errnoName(int errno) {
        return switch (errno) {
            case 1 -> "EPERM";
            case 5 -> "EIO";
            case 12 -> "ENOMEM";
            case 22 -> "EINVAL";
            case 28 -> "ENOSPC";
            case 75 -> "EOVERFLOW";
            case 95 -> "ENOTSUP";
            case 108 -> "ESHUTDOWN";
            default -> "error " + errno;
        };
    }
}
