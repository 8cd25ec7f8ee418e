package org.jblksnap.fuse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;
import java.util.stream.Stream;

import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.Fuse;
import org.cryptomator.jfuse.api.FuseBuilder;
import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.api.FuseConnInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.Statvfs;

/**
 * A file system of the tests' own that fails or stalls chosen calls on demand: a flat FUSE
 * mount over a real directory (files can be created, written, synced, truncated, removed),
 * with direct I/O so that every read, write and fsync of a file reaches it (or buffered, where
 * a test needs the kernel's page locks rather than its inode lock). A fault names a
 * file, an operation and which calls it hits; the kernel hands the errno to the caller as a
 * failing disk, a full disk or a lost write-back would.
 *
 * <p>Needs root (it mounts); tests skip without it.
 */
public final class FaultyFs implements AutoCloseable {
    /** The operations a fault can hit. */
    public enum Op { READ, WRITE, FSYNC }

    private final Path backing;
    private final Path mountPoint;
    private final Fuse fuse;
    private final List<Fault> faults = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    private final boolean directIo;

    private FaultyFs(Path backing, Path mountPoint, boolean directIo) throws IOException {
        this.directIo = directIo;
        this.backing = Files.createDirectories(backing).toRealPath();
        this.mountPoint = Files.createDirectories(mountPoint).toAbsolutePath().normalize();
        FuseBuilder builder = Fuse.builder();
        builder.setLibraryPath(LibFuse.path());
        this.fuse = builder.build(new Operations(builder.errno()));
        try {
            fuse.mount("faultyfs", this.mountPoint, "-o", "fsname=faultyfs,subtype=faultyfs,entry_timeout=0,"
                    + "negative_timeout=0,attr_timeout=0,max_threads=8");
        } catch (Exception e) {
            throw new IOException("mounting the faulty file system at " + this.mountPoint + " failed: " + e, e);
        }
    }

    /** Mounts a faulty view of the directory backing at mountPoint, with direct I/O. */
    public static FaultyFs mount(Path backing, Path mountPoint) throws IOException {
        return new FaultyFs(backing, mountPoint, true);
    }

    /**
     * Mounts it with the kernel's page cache in front (buffered, write-through): a stalled read
     * then holds no lock that a write to other pages of the file would wait for.
     */
    public static FaultyFs mountBuffered(Path backing, Path mountPoint) throws IOException {
        return new FaultyFs(backing, mountPoint, false);
    }

    /** The path of a file in the mount. */
    public Path path(String name) {
        return mountPoint.resolve(name);
    }

    /** The path of a file in the directory behind the mount (no faults there). */
    public Path backingPath(String name) {
        return backing.resolve(name);
    }

    /**
     * From now on, calls of op on the file fail with errno: the first skip calls pass, then
     * count calls fail (Integer.MAX_VALUE for all), then calls pass again. Returns the fault,
     * which tells how often it struck.
     */
    public Fault fail(String name, Op op, int skip, int count, org.jblksnap.error.Errno errno) {
        Fault f = new Fault(name, op, skip, count, errno.code(), offset -> true, null);
        faults.add(f);
        return f;
    }

    /** Like {@link #fail}, counting only the calls that touch a byte of [from, to). */
    public Fault failAt(String name, Op op, long from, long to, int skip, int count, org.jblksnap.error.Errno errno) {
        Fault f = new Fault(name, op, skip, count, errno.code(), new Range(from, to), null);
        faults.add(f);
        return f;
    }

    /**
     * The next call of op on the file that touches a byte of [from, to) waits until the
     * returned stall is released (or 60 s pass), then goes on as usual.
     */
    public Fault stall(String name, Op op, long from, long to) {
        Fault f = new Fault(name, op, 0, 1, 0, new Range(from, to), new CountDownLatch(1));
        faults.add(f);
        return f;
    }

    /** Removes every fault; stalled calls go on. */
    public void clear() {
        for (Fault f : faults) {
            f.release();
        }
        faults.clear();
    }

    /** Calls of op on the file so far. */
    public int calls(String name, Op op) {
        AtomicInteger n = calls.get(name + "/" + op);
        return n == null ? 0 : n.get();
    }

    @Override
    public void close() throws Exception {
        clear();
        try {
            fuse.close();
        } catch (TimeoutException e) {
            new ProcessBuilder("umount", "-l", mountPoint.toString()).start().waitFor();
        }
    }

    private record Range(long from, long to) implements LongPredicate {
        @Override
        public boolean test(long offset) {
            return offset < to && offset >= from;
        }
    }

    /** One fault: which calls it hits and what it does to them. */
    public static final class Fault {
        private final String name;
        private final Op op;
        private final int skip;
        private final int count;
        private final int errno;
        private final LongPredicate where;
        private final CountDownLatch stall;
        private final CountDownLatch stalled = new CountDownLatch(1);
        private final AtomicInteger seen = new AtomicInteger();
        private final AtomicInteger struck = new AtomicInteger();

        private Fault(String name, Op op, int skip, int count, int errno, LongPredicate where, CountDownLatch stall) {
            this.name = name;
            this.op = op;
            this.skip = skip;
            this.count = count;
            this.errno = errno;
            this.where = where;
            this.stall = stall;
        }

        /** Times the fault struck. */
        public int struck() {
            return struck.get();
        }

        /** Waits until a call is held by this stall. */
        public void awaitStalled() throws InterruptedException {
            if (!stalled.await(60, TimeUnit.SECONDS)) {
                throw new AssertionError("no " + op + " of " + name + " reached the stall");
            }
        }

        /** Lets a stalled call go on. */
        public void release() {
            if (stall != null) {
                stall.countDown();
            }
        }

        /** 0 to go on as usual, else the negative errno to answer with. */
        int apply(String file, Op o, long offset, long length) {
            if (!file.equals(name) || o != op || !touches(offset, length)) {
                return 0;
            }
            int n = seen.getAndIncrement();
            if (n < skip || n - skip >= count) {
                return 0;
            }
            struck.incrementAndGet();
            if (stall != null) {
                stalled.countDown();
                try {
                    stall.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return 0;
            }
            return -errno;
        }

        private boolean touches(long offset, long length) {
            if (where instanceof Range r) {
                return offset < r.to() && offset + Math.max(length, 1) > r.from();
            }
            return where.test(offset);
        }
    }

    private final class Operations implements FuseOperations {
        private static final int O_ACCMODE = 3;
        private static final int ENOENT = -2;
        private static final int EIO = -5;
        private static final int EBADF = -9;
        private final Errno errno;
        private final Map<Long, FileChannel> open = new ConcurrentHashMap<>();
        private final Map<Long, String> names = new ConcurrentHashMap<>();
        private final AtomicLong next = new AtomicLong(1);

        Operations(Errno errno) {
            this.errno = errno;
        }

        @Override
        public Errno errno() {
            return errno;
        }

        @Override
        public Set<Operation> supportedOperations() {
            return EnumSet.of(Operation.INIT, Operation.GET_ATTR, Operation.OPEN, Operation.CREATE, Operation.READ,
                    Operation.WRITE, Operation.FLUSH, Operation.FSYNC, Operation.RELEASE, Operation.TRUNCATE,
                    Operation.UNLINK, Operation.OPEN_DIR, Operation.READ_DIR, Operation.RELEASE_DIR, Operation.STATFS,
                    Operation.UTIMENS);
        }

        @Override
        public void init(FuseConnInfo conn, FuseConfig cfg) {
            if (directIo) {
                DirectIoConfig.enable(cfg);
            }
        }

        private Path file(String path) {
            return backing.resolve(path.substring(1));
        }

        private int fault(String path, Op op, long offset, long length) {
            String name = path.substring(1);
            calls.computeIfAbsent(name + "/" + op, k -> new AtomicInteger()).incrementAndGet();
            for (Fault f : faults) {
                int e = f.apply(name, op, offset, length);
                if (e != 0) {
                    return e;
                }
            }
            return 0;
        }

        @Override
        public int getattr(String path, Stat stat, FileInfo fi) {
            try {
                if (path.equals("/")) {
                    stat.setMode(Stat.S_IFDIR | 0755);
                    stat.setNLink((short) 2);
                    return 0;
                }
                BasicFileAttributes a = Files.readAttributes(file(path), BasicFileAttributes.class);
                stat.setMode((a.isDirectory() ? Stat.S_IFDIR : Stat.S_IFREG) | 0644);
                stat.setNLink((short) 1);
                stat.setSize(a.size());
                stat.mTime().set(a.lastModifiedTime().toInstant());
                stat.aTime().set(a.lastAccessTime().toInstant());
                stat.cTime().set(a.lastModifiedTime().toInstant());
                return 0;
            } catch (NoSuchFileException e) {
                return ENOENT;
            } catch (IOException e) {
                return EIO;
            }
        }

        @Override
        public int open(String path, FileInfo fi) {
            return openFile(path, fi, false);
        }

        @Override
        public int create(String path, int mode, FileInfo fi) {
            return openFile(path, fi, true);
        }

        private int openFile(String path, FileInfo fi, boolean create) {
            try {
                FileChannel ch = (fi.getFlags() & O_ACCMODE) == 0 && !create
                        ? FileChannel.open(file(path), StandardOpenOption.READ)
                        : create ? FileChannel.open(file(path), StandardOpenOption.READ, StandardOpenOption.WRITE,
                                StandardOpenOption.CREATE)
                                : FileChannel.open(file(path), StandardOpenOption.READ, StandardOpenOption.WRITE);
                long h = next.getAndIncrement();
                open.put(h, ch);
                names.put(h, path);
                fi.setFh(h);
                return 0;
            } catch (NoSuchFileException e) {
                return ENOENT;
            } catch (IOException e) {
                return EIO;
            }
        }

        @Override
        public int read(String path, ByteBuffer buf, long count, long offset, FileInfo fi) {
            FileChannel ch = open.get(fi.getFh());
            if (ch == null) {
                return EBADF;
            }
            int e = fault(path, Op.READ, offset, count);
            if (e != 0) {
                return e;
            }
            try {
                buf.limit((int) Math.min(count, buf.capacity()));
                int total = 0;
                while (buf.hasRemaining()) {
                    int n = ch.read(buf, offset + total);
                    if (n < 0) {
                        break;
                    }
                    total += n;
                }
                return total;
            } catch (IOException x) {
                return EIO;
            }
        }

        @Override
        public int write(String path, ByteBuffer buf, long count, long offset, FileInfo fi) {
            FileChannel ch = open.get(fi.getFh());
            if (ch == null) {
                return EBADF;
            }
            int e = fault(path, Op.WRITE, offset, count);
            if (e != 0) {
                return e;
            }
            try {
                buf.limit((int) Math.min(count, buf.capacity()));
                int total = 0;
                while (buf.hasRemaining()) {
                    total += ch.write(buf, offset + total);
                }
                return total;
            } catch (IOException x) {
                return EIO;
            }
        }

        @Override
        public int flush(String path, FileInfo fi) {
            return 0;
        }

        @Override
        public int fsync(String path, int datasync, FileInfo fi) {
            FileChannel ch = open.get(fi.getFh());
            if (ch == null) {
                return EBADF;
            }
            int e = fault(path, Op.FSYNC, 0, 0);
            if (e != 0) {
                return e;
            }
            try {
                ch.force(datasync == 0);
                return 0;
            } catch (IOException x) {
                return EIO;
            }
        }

        @Override
        public int release(String path, FileInfo fi) {
            FileChannel ch = open.remove(fi.getFh());
            names.remove(fi.getFh());
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException e) {
                    return EIO;
                }
            }
            return 0;
        }

        @Override
        public int truncate(String path, long size, FileInfo fi) {
            try (FileChannel ch = FileChannel.open(file(path), StandardOpenOption.WRITE)) {
                if (size < ch.size()) {
                    ch.truncate(size);
                } else if (size > ch.size()) {
                    ch.write(ByteBuffer.allocate(1), size - 1);
                }
                return 0;
            } catch (NoSuchFileException e) {
                return ENOENT;
            } catch (IOException e) {
                return EIO;
            }
        }

        @Override
        public int unlink(String path) {
            try {
                Files.delete(file(path));
                return 0;
            } catch (NoSuchFileException e) {
                return ENOENT;
            } catch (IOException e) {
                return EIO;
            }
        }

        @Override
        public int utimens(String path, org.cryptomator.jfuse.api.TimeSpec atime,
                org.cryptomator.jfuse.api.TimeSpec mtime, FileInfo fi) {
            return 0;
        }

        @Override
        public int opendir(String path, FileInfo fi) {
            return path.equals("/") ? 0 : ENOENT;
        }

        @Override
        public int readdir(String path, DirFiller filler, long offset, FileInfo fi, int flags) {
            try (Stream<Path> files = Files.list(backing)) {
                filler.fill(".", s -> { }, 0, 0);
                filler.fill("..", s -> { }, 0, 0);
                for (Path p : files.toList()) {
                    filler.fill(p.getFileName().toString(), s -> { }, 0, 0);
                }
                return 0;
            } catch (IOException e) {
                return EIO;
            }
        }

        @Override
        public int releasedir(String path, FileInfo fi) {
            return 0;
        }

        @Override
        public int statfs(String path, Statvfs statvfs) {
            try {
                var store = Files.getFileStore(backing);
                statvfs.setBsize(4096);
                statvfs.setFrsize(4096);
                statvfs.setBlocks(store.getTotalSpace() / 4096);
                statvfs.setBfree(store.getUnallocatedSpace() / 4096);
                statvfs.setBavail(store.getUsableSpace() / 4096);
                statvfs.setNameMax(255);
                return 0;
            } catch (IOException e) {
                return EIO;
            }
        }
    }
}
