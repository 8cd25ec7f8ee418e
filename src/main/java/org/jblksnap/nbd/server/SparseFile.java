package org.jblksnap.nbd.server;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;

import org.jblksnap.nbd.protocol.Nbd;

/**
 * base:allocation of a regular file from the file system's own knowledge of its holes
 * (lseek SEEK_DATA / SEEK_HOLE, which the JDK does not offer). A hole of a regular file
 * reads as zeroes, so holes are reported as HOLE|ZERO and everything else as data.
 *
 * <p>Each query opens the file anew and first checks it is still the very file (same inode)
 * that was there when the export was made; otherwise, or when the file system cannot tell,
 * it reports data, which is always true.
 */
final class SparseFile implements MetaContext {
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int ENXIO = 6;
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle OPEN;
    private static final MethodHandle LSEEK;
    private static final MethodHandle CLOSE;

    static {
        Linker linker = Linker.nativeLinker();
        var lookup = linker.defaultLookup();
        OPEN = linker.downcallHandle(lookup.find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
                Linker.Option.firstVariadicArg(2));
        LSEEK = linker.downcallHandle(lookup.find("lseek").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT),
                Linker.Option.captureCallState("errno"));
        CLOSE = linker.downcallHandle(lookup.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    }

    private final Path path;
    private final long capacity;
    private final Object fileKey;

    /** For the regular file at path, as it is now. */
    SparseFile(Path path, long capacity) throws IOException {
        this.path = path;
        this.capacity = capacity;
        this.fileKey = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
    }

    @Override
    public String name() {
        return Nbd.CONTEXT_BASE_ALLOCATION;
    }

    @Override
    public void extents(long offset, long length, Extents out) throws IOException {
        long end = Math.min(capacity, offset + length);
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(arena.allocateFrom(path.toString()), O_RDONLY | O_CLOEXEC, 0);
            if (fd < 0) {
                out.add(length, 0);
                return;
            }
            try {
                if (!Objects.equals(fileKey, Files.readAttributes(Path.of("/proc/self/fd/" + fd),
                        BasicFileAttributes.class).fileKey())) {
                    out.add(length, 0);
                    return;
                }
                MemorySegment state = arena.allocate(CALL_STATE);
                long pos = offset;
                while (pos < end && !out.full()) {
                    long data = (long) LSEEK.invokeExact(state, fd, pos, SEEK_DATA);
                    if (data < 0) {
                        // ENXIO: no data from pos to the end of the file.
                        out.add(end - pos, (int) ERRNO.get(state, 0L) == ENXIO ? Nbd.STATE_HOLE | Nbd.STATE_ZERO : 0);
                        return;
                    }
                    if (data > pos) {
                        long to = Math.min(data, end);
                        out.add(to - pos, Nbd.STATE_HOLE | Nbd.STATE_ZERO);
                        pos = to;
                        continue;
                    }
                    long hole = (long) LSEEK.invokeExact(state, fd, pos, SEEK_HOLE);
                    long to = hole <= pos ? end : Math.min(hole, end);
                    out.add(to - pos, 0);
                    pos = to;
                }
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("lseek on " + path + " failed", t);
        }
    }
}
