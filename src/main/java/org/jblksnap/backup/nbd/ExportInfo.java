package org.jblksnap.backup.nbd;

import java.util.Map;

import org.jblksnap.nbd.protocol.Nbd;

/**
 * What the handshake settled: the export's size and transmission flags, its block sizes,
 * whether structured replies are on, and the metadata contexts selected (name to id).
 */
public record ExportInfo(String name, long size, int transmissionFlags, BlockSizes blockSizes,
        boolean structuredReplies, Map<String, Integer> contexts) {

    public ExportInfo {
        contexts = Map.copyOf(contexts);
    }

    public boolean readOnly() {
        return (transmissionFlags & Nbd.FLAG_READ_ONLY) != 0;
    }

    public boolean hasContext(String name) {
        return contexts.containsKey(name);
    }
}
