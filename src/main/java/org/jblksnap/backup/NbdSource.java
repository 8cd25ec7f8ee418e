package org.jblksnap.backup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.jblksnap.nbd.client.Extent;
import org.jblksnap.nbd.client.NbdAddress;
import org.jblksnap.nbd.client.NbdClient;

/** An NBD server's export, read over one connection with several requests in flight. */
final class NbdSource implements BlockSource {
    private final NbdClient client;

    private NbdSource(NbdClient client) {
        this.client = client;
    }

    /** The opener of the export of that name at address. */
    static Opener at(NbdAddress address, String exportName) {
        return (queries, listQueries) -> new NbdSource(NbdClient.connect(address, exportName, queries, listQueries));
    }

    @Override
    public long size() {
        return client.size();
    }

    @Override
    public int minimumBlockSize() {
        return client.export().blockSizes().minimum();
    }

    @Override
    public Set<String> contexts() {
        return client.export().contexts().keySet();
    }

    @Override
    public Set<String> listed() {
        return client.export().listed();
    }

    @Override
    public Map<String, List<Extent>> extents() throws IOException {
        return contexts().isEmpty() ? Map.of() : client.extents(0, client.size());
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return client.read(offset, dst);
    }

    @Override
    public void close() throws IOException {
        client.close();
    }
}
