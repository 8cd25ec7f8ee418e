package org.jblksnap.device;

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
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * The few Linux calls the JDK does not offer, through the FFM API: fallocate(2), so that a
 * difference storage owns its space when it grows (a full disk shows as a failed growth, not
 * as a failed chunk write later); posix_fadvise(2), for a device's page cache hints; open(2)
 * with O_EXCL, which claims a block device ({@link ExclusiveClaim}); ioctl(2), for freezing a
 * file system (FIFREEZE, FITHAW) and for a file's extents (FS_IOC_FIEMAP, {@link FileExtents});
 * lseek(2), for the SEEK_DATA / SEEK_HOLE walk of {@link FileHoles}.
 */
public final class Native {
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle FALLOCATE;
    private static final MethodHandle FADVISE;
    private static final MethodHandle OPEN;
    private static final MethodHandle LSEEK;
    private static final MethodHandle CLOSE;
    private static final MethodHandle IOCTL;

    static {
        Linker linker = Linker.nativeLinker();
        FALLOCATE = linker.downcallHandle(linker.defaultLookup().find("fallocate").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                Linker.Option.captureCallState("errno"));
        FADVISE = linker.downcallHandle(linker.defaultLookup().find("posix_fadvise").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        OPEN = linker.downcallHandle(linker.defaultLookup().find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
                Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
        CLOSE = linker.downcallHandle(linker.defaultLookup().find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        IOCTL = linker.downcallHandle(linker.defaultLookup().find("ioctl").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
                Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
        LSEEK = linker.downcallHandle(linker.defaultLookup().find("lseek").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT),
                Linker.Option.captureCallState("errno"));
    }

    private Native() {
    }

    /** errno values this class tells apart. */
    public static final int EFBIG = 27;
    public static final int ENOSPC = 28;
    public static final int EDQUOT = 122;
    public static final int EOPNOTSUPP = 95;

    /** fallocate(fd, 0, offset, length): 0 on success, else the errno. */
    public static int fallocate(int fd, long offset, long length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = (int) FALLOCATE.invokeExact(state, fd, 0, offset, length);
            return rc == 0 ? 0 : (int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("fallocate call failed", t);
        }
    }

    /** open(2) flags (Linux, x86-64 and arm64 alike). */
    public static final int O_RDONLY = 0;
    public static final int O_EXCL = 0200;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_DIRECTORY = 0200000;

    /** open(path, flags): the descriptor, or minus the errno. */
    public static int open(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, 0);
            return fd >= 0 ? fd : -(int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("open call failed", t);
        }
    }

    public static void close(int fd) {
        try {
            int rc = (int) CLOSE.invokeExact(fd);
            assert rc == 0 || rc == -1;
        } catch (Throwable t) {
            throw new IllegalStateException("close call failed", t);
        }
    }

    /** ioctl numbers: _IOWR('X', 119/120, int) and _IOWR('f', 11, struct fiemap). */
    public static final long FIFREEZE = 0xC0045877L;
    public static final long FITHAW = 0xC0045878L;
    public static final long FS_IOC_FIEMAP = 0xC020660BL;

    /** ioctl(fd, request, arg): 0 (or the call's positive result), else minus the errno. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = (int) IOCTL.invokeExact(state, fd, request, arg);
            return rc >= 0 ? rc : -(int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("ioctl call failed", t);
        }
    }

    /** posix_fadvise advice values (Linux). */
    public static final int FADV_RANDOM = 1;
    public static final int FADV_DONTNEED = 4;

    /** posix_fadvise(fd, offset, length, advice): 0 on success, else the errno (it returns it). */
    public static int fadvise(int fd, long offset, long length, int advice) {
        try {
            return (int) FADVISE.invokeExact(fd, offset, length, advice);
        } catch (Throwable t) {
            throw new IllegalStateException("posix_fadvise call failed", t);
        }
    }

    /** lseek whence values (Linux). */
    public static final int SEEK_DATA = 3;
    public static final int SEEK_HOLE = 4;
    /** What lseek SEEK_DATA fails with when no data follows. */
    public static final int ENXIO = 6;

    /** lseek(fd, offset, whence): the resulting offset, or minus the errno. */
    public static long lseek(int fd, long offset, int whence) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long rc = (long) LSEEK.invokeExact(state, fd, offset, whence);
            return rc >= 0 ? rc : -(int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("lseek call failed", t);
        }
    }

    /**
     * The descriptor number this process holds open on a file, found in /proc/self/fd. Used
     * right after opening a file whose name is unique to this process (a fresh temporary
     * file), so exactly one descriptor matches; -1 when none does.
     */
    public static int descriptorOf(Path file) throws IOException {
        Set<Integer> fds = descriptorsOf(file);
        return fds.isEmpty() ? -1 : fds.iterator().next();
    }

    /** Every descriptor number this process holds open on a file, from /proc/self/fd. */
    public static Set<Integer> descriptorsOf(Path file) throws IOException {
        Path target = file.toRealPath();
        Set<Integer> found = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).equals(target)) {
                        found.add(Integer.parseInt(fd.getFileName().toString()));
                    }
                } catch (IOException | NumberFormatException e) {
                    // a descriptor closed while listing, or not a file: not ours
                }
            }
        }
        return found;
    }
}
