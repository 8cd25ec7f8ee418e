package org.jblksnap.control;

import java.io.IOException;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Where a long verb (backup) sends events before its reply: progress, notes. Each is one line
 * {@code {"version":1,"event":{…}}} on the request's connection (docs/CONTROL.md, "Events").
 * A send that fails means the client is gone: the verb stops its work.
 */
@FunctionalInterface
public interface ControlEvents {
    /** Nowhere: a verb called without a connection (tests, other verbs). */
    ControlEvents NONE = event -> { };

    void send(ObjectNode event) throws IOException;
}
