package org.jblksnap.snapshot;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A front end that stacks host block devices on the engine's exports: loop devices over the
 * FUSE files of tracked devices and images, with file systems mounted on them. The engine asks
 * it two things (see the package doc):
 * <ul>
 * <li>which export a host file is, so that nothing the engine tracks or writes (a device, a
 * difference storage) is stored on one of its own exports: every write there would come back
 * through the engine, and could wait for itself;</li>
 * <li>at take, to freeze the file systems mounted over the snapshot's devices, as blksnap
 * freezes the file system of each device ({@code bdev_freeze}), so their images are
 * consistent.</li>
 * </ul>
 */
public interface HostStack {
    /** The export (a device's or an image's name) whose file this is, or empty. */
    Optional<String> exportOf(Path file);

    /**
     * Freezes (FIFREEZE) every file system mounted over these devices and returns what thaws
     * them. Runs under the manager's monitor with every write gate open: the file systems
     * write their last changes through the engine before they stop. Never fails: a file
     * system that cannot be frozen is logged and left running, as blksnap does.
     */
    Thaw freeze(List<String> devices);

    /** Thaws (FITHAW) what one freeze froze; a second call does nothing. */
    interface Thaw extends AutoCloseable {
        @Override
        void close();
    }
}
