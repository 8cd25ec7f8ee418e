package org.jblksnap.daemon;

import java.io.IOException;
import java.nio.file.Path;

import org.jblksnap.backup.BlockSource;
import org.jblksnap.nbd.client.NbdAddress;
import org.jblksnap.nbd.server.Export;
import org.jblksnap.nbd.server.ExportRegistry;

/**
 * The daemon's NBD server as its own backup runs see it: the exports it serves, which a run
 * reads in this process ({@link InProcessExport}), and the socket they are served on, which
 * names where a point was read from (its {@code source}, the same as a client's run would
 * record).
 */
record DaemonExports(Path socket, ExportRegistry registry) {

    NbdAddress address() {
        return new NbdAddress.Unix(socket);
    }

    /** Opens the export of that name in this process; an error when the server does not serve it. */
    BlockSource.Opener opener(String exportName) {
        return (queries, listQueries) -> {
            Export e = registry.get(exportName).orElseThrow(() -> new IOException("export " + exportName
                    + " is not served (its snapshot was destroyed, or the server failed to add it: see the daemon's log)"));
            return new InProcessExport(e, queries, listQueries);
        };
    }
}
