package org.jblksnap.daemon;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.jblksnap.backup.BlockSource;
import org.jblksnap.nbd.client.Extent;
import org.jblksnap.nbd.server.Export;
import org.jblksnap.nbd.server.Extents;
import org.jblksnap.nbd.server.MetaContext;

/**
 * An export of the daemon's own NBD server, read by a backup in the daemon's process: the
 * same block I/O and metadata contexts an NBD client of the socket gets, without the socket.
 * Each read runs on a virtual thread of its own (the backup bounds how many are in flight), as
 * the server runs each request; when the snapshot is destroyed, a read fails as a client's
 * would, with the image's "gone" error.
 */
final class InProcessExport implements BlockSource {
    private final Export export;
    private final Map<String, MetaContext> selected = new HashMap<>();
    private final Set<String> listed = new LinkedHashSet<>();
    private final ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();

    /** The export with the contexts of the queries it knows selected, and those matching listQueries listed. */
    InProcessExport(Export export, List<String> contextQueries, List<String> listQueries) {
        this.export = export;
        for (String q : contextQueries) {
            MetaContext c = export.contexts().select(q);
            if (c != null) {
                selected.put(q, c);
            }
        }
        for (String q : listQueries) {
            listed.addAll(export.contexts().list(q));
        }
    }

    @Override
    public long size() {
        return export.io().capacity();
    }

    @Override
    public int minimumBlockSize() {
        return Export.MINIMUM_BLOCK; // reads aligned as a client's are
    }

    @Override
    public Set<String> contexts() {
        return Set.copyOf(selected.keySet());
    }

    @Override
    public Set<String> listed() {
        return Set.copyOf(listed);
    }

    /** Each context asked as the server answers BLOCK_STATUS, from where its last answer ended. */
    @Override
    public Map<String, List<Extent>> extents() throws IOException {
        Map<String, List<Extent>> all = new HashMap<>();
        long size = size();
        for (Map.Entry<String, MetaContext> e : selected.entrySet()) {
            List<Extent> list = new ArrayList<>();
            for (long at = 0; at < size;) {
                Extents answer = new Extents(size - at, Extents.MAX_DESCRIPTORS);
                e.getValue().extents(at, size - at, answer);
                if (answer.count() == 0) {
                    throw new IOException("meta context " + e.getKey() + " of export " + export.name()
                            + " described nothing at " + at);
                }
                for (int i = 0; i < answer.count(); i++) {
                    Extent.append(list, new Extent(at, answer.length(i), answer.flags(i)));
                    at += answer.length(i);
                }
            }
            all.put(e.getKey(), List.copyOf(list));
        }
        // The contexts read the CBT and the device's holes, not the image, so they answer after
        // the snapshot is destroyed; over NBD the export would be gone. An empty read of the image
        // fails as a client's request would: a run cancelled meanwhile stops here, even when it
        // has nothing to read.
        export.io().read(0, ByteBuffer.allocate(0));
        return all;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        if (offset < 0 || dst.remaining() > size() - offset) {
            throw new IllegalArgumentException("range " + offset + "+" + dst.remaining() + " is outside export "
                    + export.name() + " of " + size() + " bytes");
        }
        ByteBuffer into = dst.slice();
        return CompletableFuture.runAsync(() -> {
            try {
                export.io().read(offset, into);
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }, readers);
    }

    /**
     * Waits for no read: each ends with the image (a destroyed snapshot fails them). Never
     * shutdownNow or close: a reader interrupted in the device's FileChannel would close that
     * channel, shared by everything that uses the device.
     */
    @Override
    public void close() {
        readers.shutdown();
    }
}
