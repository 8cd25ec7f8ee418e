package org.jblksnap.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A tmpfs of a few MiB mounted for one test (root only), to fill: a write past its size fails
 * with ENOSPC. Unmounted (lazily, whatever is still open on it) at close.
 */
public final class SmallTmpfs implements AutoCloseable {
    private final Path mountPoint;

    private SmallTmpfs(Path mountPoint) {
        this.mountPoint = mountPoint;
    }

    /** A tmpfs of size (mount's syntax: "3M") at a new directory name under dir. */
    public static SmallTmpfs mount(Path dir, String name, String size) throws IOException {
        Path mnt = Files.createDirectories(dir.resolve(name));
        ChildProcess.of("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt.toString()).check();
        return new SmallTmpfs(mnt);
    }

    public Path path() {
        return mountPoint;
    }

    @Override
    public void close() throws IOException {
        ChildProcess.of("umount", "-l", mountPoint.toString()).run();
    }
}
