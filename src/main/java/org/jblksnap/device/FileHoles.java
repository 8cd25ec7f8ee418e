package org.jblksnap.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;

/**
 * Where a regular file has data and where it has holes, as its file system knows (lseek
 * SEEK_DATA / SEEK_HOLE, which the JDK does not offer). A hole reads as zeroes.
 *
 * <p>Each walk opens the file anew and first checks it is still the very file (same inode)
 * that was there when this object was made. What cannot be told (the file gone or replaced,
 * a file system without SEEK_DATA) is reported as data, which is always true.
 */
public final class FileHoles {
    /** Receives the runs of a walk, in order; false stops the walk. */
    @FunctionalInterface
    public interface Runs {
        boolean next(long length, boolean hole);
    }

    private final Path path;
    private final long size;
    private final Object fileKey;

    /** For the regular file at path as it is now, of size bytes. */
    public FileHoles(Path path, long size) throws IOException {
        this.path = path;
        this.size = size;
        this.fileKey = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
    }

    /** Reports [offset, offset + length) as consecutive runs of data and holes. */
    public void walk(long offset, long length, Runs runs) throws IOException {
        long end = Math.min(size, offset + length);
        int fd = Native.open(path.toString(), Native.O_RDONLY | Native.O_CLOEXEC);
        if (fd < 0) {
            runs.next(length, false);
            return;
        }
        try {
            if (!Objects.equals(fileKey, Files.readAttributes(Path.of("/proc/self/fd/" + fd),
                    BasicFileAttributes.class).fileKey())) {
                runs.next(length, false);
                return;
            }
            long pos = offset;
            while (pos < end) {
                long data = Native.lseek(fd, pos, Native.SEEK_DATA);
                if (data < 0) {
                    // ENXIO: no data from pos to the end of the file.
                    runs.next(end - pos, data == -Native.ENXIO);
                    return;
                }
                long to;
                boolean hole = data > pos;
                if (hole) {
                    to = Math.min(data, end);
                } else {
                    long next = Native.lseek(fd, pos, Native.SEEK_HOLE);
                    to = next <= pos ? end : Math.min(next, end);
                }
                if (!runs.next(to - pos, hole)) {
                    return;
                }
                pos = to;
            }
        } finally {
            Native.close(fd);
        }
    }
}
