package org.jblksnap.device;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;

/**
 * Where a regular file's data lies on the device of its file system, from FS_IOC_FIEMAP
 * (delayed allocations are flushed first, so every extent has its place). An extent whose place
 * the file system cannot give (inline data, encoded or not aligned to a block) is refused: a
 * range of it cannot be marked on the device.
 */
public final class FileExtents {
    /** A piece of the file: its bytes at physical..physical+length of the device. */
    public record Extent(long physical, long length) {
    }

    private static final int MAX_EXTENTS = 256;
    private static final int HEADER = 32;
    private static final int EXTENT = 56;
    private static final int FLAG_SYNC = 0x1;
    private static final int EXTENT_LAST = 0x1;
    /** UNKNOWN, DELALLOC, ENCODED, DATA_ENCRYPTED, NOT_ALIGNED, DATA_INLINE, DATA_TAIL. */
    private static final int EXTENT_UNPLACED = 0x2 | 0x4 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400;

    private FileExtents() {
    }

    public static List<Extent> of(Path file) throws IOException {
        long size = Files.size(file);
        int fd = Native.open(file.toString(), Native.O_RDONLY | Native.O_CLOEXEC);
        if (fd < 0) {
            throw new EngineIOException(Errno.ofCode(-fd), "cannot open " + file + " (" + Errno.ofCode(-fd) + ")");
        }
        List<Extent> extents = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment map = arena.allocate(HEADER + (long) MAX_EXTENTS * EXTENT, 8);
            long next = 0;
            boolean last = false;
            while (next < size && !last) {
                map.fill((byte) 0);
                map.set(ValueLayout.JAVA_LONG, 0, next);
                map.set(ValueLayout.JAVA_LONG, 8, size - next);
                map.set(ValueLayout.JAVA_INT, 16, FLAG_SYNC);
                map.set(ValueLayout.JAVA_INT, 24, MAX_EXTENTS);
                int rc = Native.ioctl(fd, Native.FS_IOC_FIEMAP, map);
                if (rc < 0) {
                    throw new EngineIOException(Errno.ofCode(-rc), "the file system of " + file
                            + " does not give its extents (FIEMAP: " + Errno.ofCode(-rc) + ")");
                }
                int mapped = map.get(ValueLayout.JAVA_INT, 20);
                if (mapped == 0) {
                    break;
                }
                for (int i = 0; i < mapped; i++) {
                    long at = HEADER + (long) i * EXTENT;
                    long logical = map.get(ValueLayout.JAVA_LONG, at);
                    long physical = map.get(ValueLayout.JAVA_LONG, at + 8);
                    long length = map.get(ValueLayout.JAVA_LONG, at + 16);
                    int flags = map.get(ValueLayout.JAVA_INT, at + 40);
                    if ((flags & EXTENT_UNPLACED) != 0) {
                        throw new EngineIOException(Errno.EINVAL, "part of " + file + " at " + logical
                                + " has no place of its own on the device (extent flags 0x" + Integer.toHexString(flags) + ")");
                    }
                    extents.add(new Extent(physical, length));
                    next = logical + length;
                    last = (flags & EXTENT_LAST) != 0;
                }
            }
        } finally {
            Native.close(fd);
        }
        return extents;
    }
}
