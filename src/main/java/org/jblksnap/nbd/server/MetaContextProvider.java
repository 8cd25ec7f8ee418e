package org.jblksnap.nbd.server;

import java.util.List;

/** The meta contexts an export offers, answering the handshake's LIST and SET queries. */
public interface MetaContextProvider {
    /**
     * The context names a LIST_META_CONTEXT query returns: for "" every context the client
     * may select (or a wildcard that lists them), else those matching the query.
     */
    List<String> list(String query);

    /** The context of exactly this name, or null when the name selects nothing. */
    MetaContext select(String name);
}
