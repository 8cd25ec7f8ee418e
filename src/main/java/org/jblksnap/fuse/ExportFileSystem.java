package org.jblksnap.fuse;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;

import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.api.FuseConnInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.Statvfs;

/**
 * The FUSE operations of the mount: a flat directory with one regular file per export, of the
 * export's size, read and written through its {@link ByteRangeIo}. Files cannot be created,
 * removed, renamed or resized. Every callback catches everything (see {@link FuseErrno}).
 */
final class ExportFileSystem implements FuseOperations {
    private static final int O_ACCMODE = 3;
    private static final int O_RDONLY = 0;
    private static final int STATFS_BLOCK = 4096;

    private final Errno errno;
    private final FuseExports.Options options;
    private final ConcurrentMap<String, ExportFile> exports = new ConcurrentHashMap<>();
    private final ConcurrentMap<Long, ExportFile> handles = new ConcurrentHashMap<>();
    /** The handles opened for writing: only their close makes writes durable. */
    private final Set<Long> writers = ConcurrentHashMap.newKeySet();
    private final AtomicLong nextHandle = new AtomicLong(1);
    private final Instant started = Instant.now();
    private volatile boolean directIo;

    ExportFileSystem(Errno errno, FuseExports.Options options) {
        this.errno = errno;
        this.options = options;
    }

    void add(ExportFile export) {
        exports.put(export.name(), export);
    }

    void remove(String name) {
        exports.remove(name);
    }

    boolean contains(String name) {
        return exports.containsKey(name);
    }

    List<String> names() {
        return List.copyOf(exports.keySet());
    }

    /** Whether files bypass the kernel's page cache (known once mounted). */
    boolean directIo() {
        return directIo;
    }

    int openHandles() {
        return handles.size();
    }

    @Override
    public Errno errno() {
        return errno;
    }

    @Override
    public Set<Operation> supportedOperations() {
        return EnumSet.of(Operation.INIT, Operation.GET_ATTR, Operation.OPEN, Operation.READ, Operation.WRITE,
                Operation.FLUSH, Operation.FSYNC, Operation.RELEASE, Operation.TRUNCATE, Operation.OPEN_DIR,
                Operation.READ_DIR, Operation.RELEASE_DIR, Operation.STATFS);
    }

    @Override
    public void init(FuseConnInfo conn, FuseConfig cfg) {
        try {
            conn.setMaxWrite(options.maxWrite());
            // Loop devices send asynchronous direct I/O: the kernel queues at most
            // max_background such requests to the daemon at once.
            conn.setMaxBackground(options.maxBackground());
            conn.setCongestionThreshold(options.maxBackground() * 3 / 4);
            conn.setWant(conn.want() | (conn.capable() & FuseConnInfo.FUSE_CAP_ASYNC_DIO));
            directIo = DirectIoConfig.enable(cfg);
        } catch (Throwable t) {
            FuseErrno.of("init", "/", t);
        }
    }

    @Override
    public int getattr(String path, Stat stat, FileInfo fi) {
        try {
            if (path.equals("/")) {
                stat.setMode(Stat.S_IFDIR | 0755);
                stat.setNLink((short) 2);
                setTimes(stat, started);
                return 0;
            }
            ExportFile e = fi != null ? handles.get(fi.getFh()) : null;
            if (e == null) {
                e = lookup(path);
            }
            if (e == null) {
                return FuseErrno.ENOENT;
            }
            fill(stat, e);
            return 0;
        } catch (Throwable t) {
            return FuseErrno.of("getattr", path, t);
        }
    }

    @Override
    public int open(String path, FileInfo fi) {
        try {
            ExportFile e = lookup(path);
            if (e == null) {
                return path.equals("/") ? FuseErrno.EISDIR : FuseErrno.ENOENT;
            }
            if (e.readOnly() && (fi.getFlags() & O_ACCMODE) != O_RDONLY) {
                return FuseErrno.EROFS;
            }
            long handle = nextHandle.getAndIncrement();
            handles.put(handle, e);
            if ((fi.getFlags() & O_ACCMODE) != O_RDONLY) {
                writers.add(handle);
            }
            fi.setFh(handle);
            return 0;
        } catch (Throwable t) {
            return FuseErrno.of("open", path, t);
        }
    }

    @Override
    public int read(String path, ByteBuffer buf, long count, long offset, FileInfo fi) {
        ExportFile e = handles.get(fi.getFh());
        if (e == null) {
            return FuseErrno.EBADF;
        }
        try {
            if (offset < 0) {
                return FuseErrno.EINVAL;
            }
            return e.io().read(offset, buf.limit((int) Math.min(count, buf.capacity())));
        } catch (Throwable t) {
            return FuseErrno.of("read", e.name(), t);
        }
    }

    @Override
    public int write(String path, ByteBuffer buf, long count, long offset, FileInfo fi) {
        ExportFile e = handles.get(fi.getFh());
        if (e == null) {
            return FuseErrno.EBADF;
        }
        try {
            if (e.readOnly()) {
                return FuseErrno.EROFS;
            }
            if (offset < 0) {
                return FuseErrno.EINVAL;
            }
            if (count > 0 && offset >= e.size()) {
                return FuseErrno.ENOSPC;
            }
            return e.io().write(offset, buf.limit((int) Math.min(count, buf.capacity())));
        } catch (Throwable t) {
            return FuseErrno.of("write", e.name(), t);
        }
    }

    /**
     * close(2) of a descriptor opened for writing: like the last close of a block device, makes
     * writes durable. A reader's close syncs nothing (a flush there would only cost time, and
     * could be the one to hear of a write-back error meant for a writer).
     */
    @Override
    public int flush(String path, FileInfo fi) {
        return writers.contains(fi.getFh()) ? sync("flush", fi) : 0;
    }

    @Override
    public int fsync(String path, int datasync, FileInfo fi) {
        return sync("fsync", fi);
    }

    private int sync(String op, FileInfo fi) {
        ExportFile e = handles.get(fi.getFh());
        if (e == null) {
            return FuseErrno.EBADF;
        }
        try {
            if (!e.readOnly()) {
                e.blockIo().flush();
            }
            return 0;
        } catch (Throwable t) {
            return FuseErrno.of(op, e.name(), t);
        }
    }

    @Override
    public int release(String path, FileInfo fi) {
        handles.remove(fi.getFh());
        writers.remove(fi.getFh());
        return 0;
    }

    /** A device has a fixed size: only a "resize" to the same size succeeds. */
    @Override
    public int truncate(String path, long size, FileInfo fi) {
        try {
            ExportFile e = fi != null ? handles.get(fi.getFh()) : null;
            if (e == null) {
                e = lookup(path);
            }
            if (e == null) {
                return path.equals("/") ? FuseErrno.EISDIR : FuseErrno.ENOENT;
            }
            if (e.readOnly()) {
                return FuseErrno.EROFS;
            }
            return size == e.size() ? 0 : FuseErrno.EINVAL;
        } catch (Throwable t) {
            return FuseErrno.of("truncate", path, t);
        }
    }

    @Override
    public int opendir(String path, FileInfo fi) {
        return path.equals("/") ? 0 : exports.containsKey(path.substring(1)) ? FuseErrno.ENOTDIR : FuseErrno.ENOENT;
    }

    @Override
    public int readdir(String path, DirFiller filler, long offset, FileInfo fi, int flags) {
        try {
            if (!path.equals("/")) {
                return FuseErrno.ENOTDIR;
            }
            filler.fill(".", s -> { }, 0, 0);
            filler.fill("..", s -> { }, 0, 0);
            for (ExportFile e : exports.values()) {
                if ((flags & FUSE_READDIR_PLUS) != 0) {
                    filler.fill(e.name(), s -> fill(s, e), 0, DirFiller.FUSE_FILL_DIR_PLUS);
                } else {
                    filler.fill(e.name(), s -> { }, 0, 0);
                }
            }
            return 0;
        } catch (Throwable t) {
            return FuseErrno.of("readdir", path, t);
        }
    }

    @Override
    public int releasedir(String path, FileInfo fi) {
        return 0;
    }

    @Override
    public int statfs(String path, Statvfs statvfs) {
        try {
            long bytes = 0;
            for (ExportFile e : exports.values()) {
                bytes += e.size();
            }
            statvfs.setBsize(STATFS_BLOCK);
            statvfs.setFrsize(STATFS_BLOCK);
            statvfs.setBlocks(bytes / STATFS_BLOCK);
            statvfs.setBfree(0);
            statvfs.setBavail(0);
            statvfs.setNameMax(255);
            return 0;
        } catch (Throwable t) {
            return FuseErrno.of("statfs", path, t);
        }
    }

    private ExportFile lookup(String path) {
        if (path.length() < 2 || path.charAt(0) != '/' || path.indexOf('/', 1) >= 0) {
            return null;
        }
        return exports.get(path.substring(1));
    }

    private static void fill(Stat stat, ExportFile e) {
        stat.setMode(Stat.S_IFREG | (e.readOnly() ? 0444 : 0644));
        stat.setNLink((short) 1);
        stat.setSize(e.size());
        setTimes(stat, e.created());
    }

    private static void setTimes(Stat stat, Instant t) {
        stat.aTime().set(t);
        stat.mTime().set(t);
        stat.cTime().set(t);
    }
}
