package org.jblksnap.nbd.server;

import java.io.IOException;
import java.nio.file.Path;

import org.jblksnap.device.FileHoles;
import org.jblksnap.nbd.protocol.Nbd;

/**
 * base:allocation of a regular file from the file system's own knowledge of its holes
 * ({@link FileHoles}). A hole of a regular file reads as zeroes, so holes are reported as
 * HOLE|ZERO and everything else as data.
 */
final class SparseFile implements MetaContext {
    private final FileHoles holes;

    /** For the regular file at path, as it is now. */
    SparseFile(Path path, long capacity) throws IOException {
        this.holes = new FileHoles(path, capacity);
    }

    @Override
    public String name() {
        return Nbd.CONTEXT_BASE_ALLOCATION;
    }

    @Override
    public void extents(long offset, long length, Extents out) throws IOException {
        holes.walk(offset, length, (n, hole) -> {
            out.add(n, hole ? Nbd.STATE_HOLE | Nbd.STATE_ZERO : 0);
            return !out.full();
        });
    }
}
