package org.jblksnap.device;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Something that reads and writes like a block device: a raw device, a tracked device, a
 * snapshot image, a backup point. Front ends (NBD, FUSE) serve any of them through this.
 * Offsets and lengths are whole 512-byte sectors inside the capacity.
 */
public interface BlockIo {
    long capacity();

    /** Fills dst (its remaining bytes) from offset. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** Writes src (its remaining bytes) at offset. */
    void write(long offset, ByteBuffer src) throws IOException;

    /** Makes every write acknowledged so far durable, whoever made it. */
    void flush() throws IOException;

    /** Writes refused (EPERM for a client). */
    default boolean isReadOnly() {
        return false;
    }
}
