package org.jblksnap.control;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The control protocol on {@code control.sock}: versioned JSON lines, one request and one
 * reply per line. docs/CONTROL.md describes it, with every verb, its fields and its errnos;
 * {@link ControlHandler} implements the verbs, {@link ControlServer} the socket.
 */
public final class ControlProtocol {
    public static final int VERSION = 1;
    /** Longest request line accepted; a longer one ends the connection. */
    public static final int MAX_LINE = 16 << 20;
    public static final ObjectMapper JSON = new ObjectMapper();

    private ControlProtocol() {
    }
}
