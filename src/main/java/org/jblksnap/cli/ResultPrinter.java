package org.jblksnap.cli;

import java.io.PrintStream;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Prints a verb's result as key=value lines or as JSON. An array of values is one line per
 * element; an array of objects (the devices of tracker_collect) is one block of key=value lines
 * per object, each after an empty line (an array in such an object is one line, its elements
 * joined by commas). The commands that run here rather than in the daemon
 * build their results with {@link #object} and {@link #array}.
 */
final class ResultPrinter {
    /** Turns maps and records into results. */
    static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectWriter PRETTY = JSON.writerWithDefaultPrettyPrinter();

    private ResultPrinter() {
    }

    /** An empty result object. */
    static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    /** An empty result array. */
    static ArrayNode array() {
        return JsonNodeFactory.instance.arrayNode();
    }

    /** A value on a key=value line: an array's elements joined by commas. */
    private static String text(JsonNode v) {
        if (!v.isArray()) {
            return v.asText();
        }
        StringBuilder sb = new StringBuilder();
        v.forEach(e -> sb.append(sb.isEmpty() ? "" : ",").append(e.asText()));
        return sb.toString();
    }

    static void print(PrintStream out, JsonNode result, boolean json) {
        if (json) {
            try {
                out.println(PRETTY.writeValueAsString(result));
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
                    v.properties().forEach(f -> out.println(f.getKey() + "=" + text(f.getValue())));
                } else {
                    out.println(e.getKey() + "=" + v.asText());
                }
            }
        }
    }
}
