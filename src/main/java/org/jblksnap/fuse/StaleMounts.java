package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;

/** FUSE mounts left behind by a process that died without unmounting. */
final class StaleMounts {
    // strerror(ENOTCONN): what stat says on a FUSE mount whose server is gone.
    private static final String NOT_CONNECTED = "Transport endpoint is not connected";

    private StaleMounts() {
    }

    /**
     * Unmounts (lazily) a FUSE mount at dir whose server is dead; true when there was one.
     * Refuses when a running process still serves a FUSE mount there.
     */
    static boolean unmountIfDead(Path dir) throws IOException {
        Optional<String> type = MountTable.typeAt(dir);
        if (type.isEmpty() || !type.get().startsWith("fuse")) {
            return false;
        }
        if (served(dir)) {
            throw new IOException(dir + " is already a FUSE mount (" + type.get() + ") served by a running process");
        }
        Commands.Result r = Commands.run("fusermount3", "-u", "-z", dir.toString());
        if (!r.ok()) {
            Commands.check("umount", "-l", dir.toString());
        }
        return true;
    }

    /** False only when the kernel says the mount's server is gone. */
    static boolean served(Path dir) throws IOException {
        try {
            Files.readAttributes(dir, BasicFileAttributes.class);
            return true;
        } catch (FileSystemException e) {
            if (e.getReason() != null && e.getReason().contains(NOT_CONNECTED)) {
                return false;
            }
            throw e;
        }
    }
}
