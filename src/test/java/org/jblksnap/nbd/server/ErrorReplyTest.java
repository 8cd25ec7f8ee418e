package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;

import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.ImageClosedException;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.NoSuchDeviceException;
import org.jblksnap.error.SnapshotCorruptedException;
import org.jblksnap.nbd.protocol.Nbd;
import org.junit.jupiter.api.Test;

/** Engine failures reach an NBD client as the nearest error the protocol has, by their errno alone. */
class ErrorReplyTest {
    @Test
    void eachEngineFailureHasItsNbdError() {
        assertEquals(Nbd.ESHUTDOWN, Commands.errorOf(new ImageClosedException("destroyed")));
        assertEquals(Nbd.ESHUTDOWN, Commands.errorOf(new NoSuchDeviceException("detached")));
        assertEquals(Nbd.EIO, Commands.errorOf(new SnapshotCorruptedException("overflowed")));
        assertEquals(Nbd.EINVAL, Commands.errorOf(new InvalidArgumentException("bad range")));
        assertEquals(Nbd.ENOSPC, Commands.errorOf(new EngineIOException(Errno.ENOSPC, "device full")));
        assertEquals(Nbd.EPERM, Commands.errorOf(new EngineIOException(Errno.EROFS, "read-only")));
        assertEquals(Nbd.ENOMEM, Commands.errorOf(new OutOfMemoryError("Direct buffer memory")));
    }

    @Test
    void noMessageIsRead() {
        // The device turns the kernel's "No space left" into ENOSPC where it writes; a message
        // elsewhere means nothing.
        assertEquals(Nbd.EIO, Commands.errorOf(new IOException("No space left on device")));
    }
}
