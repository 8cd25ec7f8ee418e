package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;

import org.jblksnap.device.MountTable;

/** FUSE mounts left behind by a process that died without unmounting. */
final class StaleMounts {
    // strerror(ENOTCONN): what stat says on a FUSE mount whose server is gone.
    private static final String NOT_CONNECTED = "Transport endpoint is not connected";

    private StaleMounts() {
    }

    /** True when a FUSE file system is mounted at exactly dir. */
    static boolean isFuseMount(Path dir) throws IOException {
        Optional<String> type = MountTable.typeAt(dir);
        return type.isPresent() && type.get().startsWith("fuse");
    }

    /** Lazily unmounts the FUSE mount at dir (whose server is known to be dead). */
    static void unmount(Path dir) throws IOException {
        SystemTools.Result r = SystemTools.run("fusermount3", "-u", "-z", dir.toString());
        if (!r.ok()) {
            SystemTools.check("umount", "-l", dir.toString());
        }
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
