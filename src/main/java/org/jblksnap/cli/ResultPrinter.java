package org.jblksnap.cli;

import java.io.PrintStream;
import java.util.Map;

import org.jblksnap.control.ControlProtocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

/** Prints a verb's result as key=value lines (an array as one line per element) or as JSON. */
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
            if (e.getValue().isArray()) {
                e.getValue().forEach(v -> out.println(e.getKey() + "=" + v.asText()));
            } else {
                out.println(e.getKey() + "=" + e.getValue().asText());
            }
        }
    }
}
