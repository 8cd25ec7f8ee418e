package org.jblksnap.cli;

import java.io.PrintStream;
import java.util.Map;

import org.jblksnap.control.ControlProtocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * Prints a verb's result as key=value lines or as JSON. An array of values is one line per
 * element; an array of objects (the devices of tracker_collect) is one block of key=value lines
 * per object, each after an empty line.
 */
final class ResultPrinter {
    private ResultPrinter() {
    }

    static void print(PrintStream out, JsonNode result, boolean json) {
        if (json) {
            try {
                out.println(ControlProtocol.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            return;
        }
        for (Map.Entry<String, JsonNode> e : result.properties()) {
            if (!e.getValue().isArray()) {
                out.println(e.getKey() + "=" + e.getValue().asText());
            }
        }
        for (Map.Entry<String, JsonNode> e : result.properties()) {
            if (!e.getValue().isArray()) {
                continue;
            }
            for (JsonNode v : e.getValue()) {
                if (v.isObject()) {
                    out.println();
                    v.properties().forEach(f -> out.println(f.getKey() + "=" + f.getValue().asText()));
                } else {
                    out.println(e.getKey() + "=" + v.asText());
                }
            }
        }
    }
}
