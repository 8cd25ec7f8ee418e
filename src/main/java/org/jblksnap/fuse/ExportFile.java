package org.jblksnap.fuse;

import java.time.Instant;

import org.jblksnap.device.BlockIo;

/**
 * One file of the mount: a tracked device or a snapshot image under its export name. Open
 * handles keep the object, so a handle opened before the export went (a loop device still
 * attached) keeps reaching the same device or image, whose I/O then fails cleanly.
 */
final class ExportFile {
    private final String name;
    private final ByteRangeIo io;
    private final Instant created = Instant.now();

    ExportFile(String name, BlockIo io) {
        this.name = name;
        this.io = new ByteRangeIo(io);
    }

    String name() {
        return name;
    }

    ByteRangeIo io() {
        return io;
    }

    BlockIo blockIo() {
        return io.io();
    }

    long size() {
        return io.io().capacity();
    }

    boolean readOnly() {
        return io.io().isReadOnly();
    }

    Instant created() {
        return created;
    }
}
