package org.jblksnap.device;

import java.nio.file.Path;

import org.jblksnap.error.DeviceBusyException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.PathException;

/**
 * An exclusive open (O_EXCL) of a block device, held for as long as jblksnap uses the device.
 * While it is held the kernel refuses the device to every other exclusive opener: a mount, md,
 * LVM, another jblksnap; and a device one of those holds, or a disk with a partition they
 * hold, cannot be claimed (EBUSY). A plain open (dd, a program that does not ask for
 * exclusivity) is not refused: the kernel has no way to.
 */
public final class ExclusiveClaim implements AutoCloseable {
    private final Path device;
    private int fd;

    private ExclusiveClaim(Path device, int fd) {
        this.device = device;
        this.fd = fd;
    }

    /** Claims the block device, or fails with its errno (EBUSY when in use) and a clear message. */
    public static ExclusiveClaim of(Path blockDevice) {
        int fd = Native.open(blockDevice.toString(), Native.O_RDONLY | Native.O_EXCL | Native.O_CLOEXEC);
        if (fd < 0) {
            Errno errno = Errno.ofCode(-fd);
            if (errno == Errno.EBUSY) {
                throw new DeviceBusyException("block device " + blockDevice + " is in use (mounted, or held by md,"
                        + " LVM or another program); jblksnap must be its only user");
            }
            throw new PathException(errno, "block device " + blockDevice + " cannot be opened exclusively (" + errno + ")");
        }
        return new ExclusiveClaim(blockDevice, fd);
    }

    @Override
    public synchronized void close() {
        if (fd >= 0) {
            Native.close(fd);
            fd = -1;
        }
    }

    @Override
    public String toString() {
        return "exclusive claim of " + device;
    }
}
