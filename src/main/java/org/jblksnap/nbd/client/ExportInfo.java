package org.jblksnap.nbd.client;

import java.util.Map;
import java.util.Set;

/**
 * What the handshake settled: the export's size and transmission flags, its block sizes,
 * whether structured replies are on, the metadata contexts selected (name to id), and those
 * the server listed for the list queries of the connection.
 */
public record ExportInfo(String name, long size, int transmissionFlags, BlockSizes blockSizes,
        boolean structuredReplies, Map<String, Integer> contexts, Set<String> listed) {

    public ExportInfo {
        contexts = Map.copyOf(contexts);
        listed = Set.copyOf(listed);
    }

    public boolean hasContext(String name) {
        return contexts.containsKey(name);
    }
}
