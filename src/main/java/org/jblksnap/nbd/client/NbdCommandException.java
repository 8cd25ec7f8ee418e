package org.jblksnap.nbd.client;

import org.jblksnap.nbd.protocol.Names;

/**
 * The server answered a command with an error (an errno, perhaps with a message). The
 * connection stays usable.
 */
public final class NbdCommandException extends NbdException {
    private final int errno;

    public NbdCommandException(String command, int errno, String serverMessage) {
        super(command + " failed: " + Names.errno(errno)
                + (serverMessage == null || serverMessage.isEmpty() ? "" : " (" + serverMessage + ")"));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
