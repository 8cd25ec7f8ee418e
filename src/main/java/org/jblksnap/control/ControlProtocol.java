package org.jblksnap.control;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The control protocol on {@code control.sock}: one JSON object per line each way.
 *
 * <pre>
 *   request:  {"version":1, "verb":"snapshot_take", "args":{"id":"…"}}
 *   reply:    {"version":1, "ok":true,  "result":{…}}
 *             {"version":1, "ok":false, "errno":"ENOENT", "code":2, "message":"no snapshot with id …"}
 * </pre>
 * A connection carries any number of requests, answered in order. Verbs and their
 * arguments are those of {@link ControlHandler}.
 */
public final class ControlProtocol {
    public static final int VERSION = 1;
    /** Longest request line accepted; a longer one ends the connection. */
    public static final int MAX_LINE = 16 << 20;
    public static final ObjectMapper JSON = new ObjectMapper();

    private ControlProtocol() {
    }
}
