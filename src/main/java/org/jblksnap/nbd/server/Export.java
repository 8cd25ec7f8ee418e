package org.jblksnap.nbd.server;

import java.util.Objects;

import org.jblksnap.device.BlockIo;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.protocol.Wire;

/**
 * What the server offers under one name: a {@link BlockIo}, whether clients may write it, a
 * description for humans, and its meta contexts (base:allocation always among them).
 */
public final class Export {
    /** The block size requests must be aligned to (the handshake's minimum block size). */
    public static final int MINIMUM_BLOCK = 512;

    private final String name;
    private final String description;
    private final BlockIo io;
    private final boolean readOnly;
    private final MetaContextProvider contexts;

    public Export(String name, String description, BlockIo io, boolean readOnly, MetaContextProvider contexts) {
        this.name = Objects.requireNonNull(name, "name");
        this.description = description == null ? "" : description;
        this.io = Objects.requireNonNull(io, "io");
        this.readOnly = readOnly || io.isReadOnly();
        this.contexts = Objects.requireNonNull(contexts, "contexts");
        if (name.isEmpty() || Wire.utf8Length(name) > Nbd.MAX_STRING || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad export name '" + name + "'");
        }
        if (Wire.utf8Length(this.description) > Nbd.MAX_STRING) {
            throw new IllegalArgumentException("description of export " + name + " is too long");
        }
        if (contexts.select(Nbd.CONTEXT_BASE_ALLOCATION) == null) {
            throw new IllegalArgumentException("export " + name + " must offer " + Nbd.CONTEXT_BASE_ALLOCATION);
        }
    }

    /** An export whose only meta context is base:allocation reporting everything as data. */
    public Export(String name, String description, BlockIo io, boolean readOnly) {
        this(name, description, io, readOnly, MetaContexts.of(MetaContexts.allData()));
    }

    public String name() {
        return name;
    }

    public String description() {
        return description;
    }

    public BlockIo io() {
        return io;
    }

    public boolean readOnly() {
        return readOnly;
    }

    public MetaContextProvider contexts() {
        return contexts;
    }

    /** The transmission flags, the same in INFO, GO and EXPORT_NAME replies of one session. */
    int transmissionFlags(boolean structured) {
        int f = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_CACHE
                | Nbd.FLAG_CAN_MULTI_CONN;
        if (readOnly) {
            f |= Nbd.FLAG_READ_ONLY;
        } else {
            f |= Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_FAST_ZERO;
        }
        if (structured) {
            f |= Nbd.FLAG_SEND_DF;
        }
        return f;
    }

    @Override
    public String toString() {
        return name + " (" + io.capacity() + " bytes" + (readOnly ? ", read-only" : "") + ")";
    }
}
