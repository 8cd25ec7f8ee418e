package org.jblksnap.nbd.server;

import java.util.List;

/** What the handshake agreed on: the export, the reply style and the selected meta contexts. */
record Session(Export export, boolean structured, List<Selected> contexts) {
    /** A meta context selected by SET_META_CONTEXT, with the id the client knows it by. */
    record Selected(int id, MetaContext context) {
    }
}
