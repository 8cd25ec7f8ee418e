package org.jblksnap.nbd.server;

import java.io.IOException;

/** One selectable meta context of an export: a name and a way to describe a range. */
public interface MetaContext {
    String name();

    /**
     * Describes the range from offset as consecutive extents added to out, as far as it
     * wants (at least one byte). The range lies inside the export and is sector aligned.
     */
    void extents(long offset, long length, Extents out) throws IOException;
}
