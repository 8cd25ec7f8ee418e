package org.jblksnap.backup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.jblksnap.nbd.client.Extent;

/**
 * What a backup reads, in NBD's terms whoever serves it: an export's size, the metadata
 * contexts selected for the run (base:allocation, a dirty bitmap) and their extents, and reads
 * with several in flight. An NBD server's export ({@link NbdSource}: qemu-nbd, nbdkit, another
 * jblksnap), or in the daemon the export its own NBD server serves a snapshot image as, read in
 * its process (the same bytes and contexts, without the socket: the NBD server and client threads
 * were a fifth of the daemon's CPU in a full backup).
 */
public interface BlockSource extends AutoCloseable {
    /** Opens the export, selecting those of the context queries it knows; listing the contexts that match listQueries. */
    @FunctionalInterface
    interface Opener {
        BlockSource open(List<String> contextQueries, List<String> listQueries) throws IOException;
    }

    long size();

    /** The size reads are aligned to (a read of part of such a block reads all of it). */
    int minimumBlockSize();

    /** The contexts selected: those of the queries the export knows. */
    Set<String> contexts();

    /** The contexts that matched the list queries (to say what it offers when the wanted one is absent). */
    Set<String> listed();

    /** The extents of every selected context over the whole export; empty when none is selected. */
    Map<String, List<Extent>> extents() throws IOException;

    /** Reads dst.remaining() bytes at offset into dst (its position does not move). */
    CompletableFuture<Void> read(long offset, ByteBuffer dst);

    @Override
    void close() throws IOException;
}
