package org.jblksnap.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.jblksnap.error.IoMessages;

/**
 * A repository in a directory of this host: an object is a file under its name. Durability:
 * every file is written under a temporary name ({@link AtomicFiles}), fsynced, then renamed or
 * linked into place; the directories that got names a commit relies on are fsynced at
 * {@link #sync} ({@link UnsyncedDirectories}); {@code docs/REPOSITORY.md#crash-safety}. The
 * lock is a file locked with the kernel's record locks ({@link RepoLock}).
 */
public final class DirectoryStore implements ObjectStore {
    private static final String LOCK = "lock";

    private final Path root;
    private final UnsyncedDirectories unsynced = new UnsyncedDirectories();

    public DirectoryStore(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    /** The file of an object. */
    public Path path(String name) {
        return root.resolve(name);
    }

    @Override
    public String location() {
        return root.toString();
    }

    @Override
    public String describe(String name) {
        return path(name).toString();
    }

    @Override
    public void checkReachable() throws IOException {
        if (!Files.isDirectory(root)) {
            throw new RepositoryException(root + " is not a backup repository ("
                    + (Files.exists(root) ? "not a directory" : "no such directory") + ")");
        }
    }

    @Override
    public void prepare() throws IOException {
        if (Files.exists(root) && !Files.isDirectory(root)) {
            throw new RepositoryException("cannot create a repository in " + root + ": it is not a directory");
        }
        try {
            Files.createDirectories(root);
            try (Stream<Path> s = Files.list(root)) {
                if (s.findAny().isPresent()) {
                    throw new RepositoryException("cannot create a repository in " + root + ": it is not empty");
                }
            }
            Files.createDirectory(root.resolve("packs"));
            Files.createDirectory(root.resolve("points"));
            AtomicFiles.syncDirectory(root);
        } catch (FileSystemException e) {
            throw new RepositoryException("cannot create a repository in " + root + ": "
                    + (root.toString().equals(e.getFile()) ? "" : e.getFile() + ": ") + IoMessages.reason(e), e);
        }
    }

    @Override
    public byte[] get(String name) throws IOException {
        if (PackCatalog.isPackName(name)) { // a check reads packs whole
            byte[] whole = UncachedReads.read(path(name), 0, (int) Math.min(Integer.MAX_VALUE - 8, Files.size(path(name))));
            if (whole != null) {
                return whole;
            }
        }
        return Files.readAllBytes(path(name));
    }

    @Override
    public byte[] getRange(String name, long offset, int length) throws IOException {
        byte[] b = new byte[length];
        int n = getRange(name, offset, b, 0, length);
        return n == length ? b : Arrays.copyOf(b, n);
    }

    @Override
    public int getRange(String name, long offset, byte[] dst, int off, int length) throws IOException {
        try (FileChannel ch = FileChannel.open(path(name), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.wrap(dst, off, length);
            int n = 0;
            while (n < length) { // a read may return less than asked; the end of the file ends it
                int got = ch.read(b, offset + n);
                if (got < 0) {
                    break;
                }
                n += got;
            }
            return n;
        }
    }

    /** The files under the directory the prefix names (it ends with {@code /}), at any depth. */
    @Override
    public List<Stored> list(String prefix) throws IOException {
        Path dir = path(prefix);
        if (!Files.isDirectory(dir)) {
            String d = dir.toString();
            throw Files.exists(dir) ? new NotDirectoryException(d) : new NoSuchFileException(d);
        }
        List<Stored> all = new ArrayList<>();
        // A file or directory removed between the directory's read and its stat (a prune's
        // deletion, another writer's temporary file renamed) is left out: Files.walk would
        // throw an UncheckedIOException from its iterator, which no caller's catch sees.
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path p, BasicFileAttributes a) {
                if (a.isRegularFile() && !AtomicFiles.isTemporary(p)) {
                    String name = root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
                    all.add(new Stored(name, a.size(), a.lastModifiedTime().toInstant()));
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path p, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE; // removed meanwhile
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                return FileVisitResult.CONTINUE;
            }
        });
        all.sort((a, b) -> a.name().compareTo(b.name()));
        return all;
    }

    @Override
    public void put(String name, ByteBuffer content) throws IOException {
        Path target = path(name);
        makeParent(target);
        AtomicFiles.replace(target, content);
        AtomicFiles.syncDirectory(target.getParent());
    }

    /** Written to a temporary file, fsynced, then hard-linked: a link never replaces a name. */
    @Override
    public boolean create(String name, ByteBuffer content) throws IOException {
        Path target = path(name);
        makeParent(target);
        Path tmp = AtomicFiles.writeTemporary(target.getParent(), content);
        try {
            Files.createLink(target, tmp);
        } catch (FileAlreadyExistsException e) {
            return false;
        } finally {
            Files.deleteIfExists(tmp);
        }
        AtomicFiles.syncDirectory(target.getParent());
        return true;
    }

    /** A missing directory ({@code keys/}, {@code index/}, made on first use) is made, and its parent synced. */
    private static void makeParent(Path target) throws IOException {
        if (!Files.isDirectory(target.getParent())) {
            Files.createDirectories(target.getParent());
            AtomicFiles.syncDirectory(target.getParent().getParent());
        }
    }

    @Override
    public void delete(String name) throws IOException {
        Path p = path(name);
        if (Files.deleteIfExists(p)) {
            AtomicFiles.syncDirectory(p.getParent());
        }
    }

    @Override
    public Writer writer(String name) throws IOException {
        Path target = path(name);
        Path dir = target.getParent();
        boolean madeDirectory = !Files.isDirectory(dir);
        if (madeDirectory) {
            Files.createDirectories(dir);
        }
        Path tmp = dir.resolve(AtomicFiles.TEMP_PREFIX + target.getFileName());
        return new FileWriter(tmp, target, madeDirectory, PackFileOutput.create(tmp));
    }

    @Override
    public void used(String name) {
        unsynced.used(path(name));
    }

    @Override
    public void sync() throws IOException {
        unsynced.syncAll();
    }

    /** The directories the next {@link #sync} fsyncs (for tests and diagnostics). */
    java.util.Set<Path> unsyncedDirectories() {
        return unsynced.pending();
    }

    /**
     * The lock file; whoever finds nobody else using the repository removes the temporary
     * files first ({@code docs/REPOSITORY.md#lock}).
     */
    @Override
    public Lock lock(LockMode mode) throws IOException {
        int[] removed = {0};
        RepoLock lock = RepoLock.acquire(root.resolve(LOCK), mode,
                () -> removed[0] += AtomicFiles.removeTemporaries(root)); // alone again after a wait: counted again
        if (mode == LockMode.EXCLUSIVE) {
            try {
                removed[0] += AtomicFiles.removeTemporaries(root);
            } catch (IOException | RuntimeException e) {
                lock.close();
                throw e;
            }
        }
        return new Lock() {
            @Override
            public int removedTemporaries() {
                return removed[0];
            }

            @Override
            public String name() {
                return lock.name();
            }

            @Override
            public long checkHeld() {
                return 0; // the kernel holds a file lock until the process dies: it never lapses
            }

            @Override
            public void checkSince(long ticket) {
            }

            @Override
            public void close() throws IOException {
                lock.close();
            }
        };
    }

    @Override
    public java.util.Set<String> liveLocks() throws IOException {
        return RepoLock.live(root);
    }

    @Override
    public void close() {
    }

    /** A file written under its temporary name, fsynced and renamed at finish. */
    private final class FileWriter implements Writer {
        private final Path tmp;
        private final Path target;
        private final boolean madeDirectory;
        private final PackFileOutput out;

        FileWriter(Path tmp, Path target, boolean madeDirectory, PackFileOutput out) {
            this.tmp = tmp;
            this.target = target;
            this.madeDirectory = madeDirectory;
            this.out = out;
        }

        @Override
        public void write(ByteBuffer b) throws IOException {
            out.write(b);
        }

        @Override
        public long size() {
            return out.size();
        }

        @Override
        public byte[] read(long offset, int length) throws IOException {
            return out.read(offset, length);
        }

        @Override
        public void finish() throws IOException {
            try {
                out.force();
                // renamed while still open, so that a read failing on the closed writer finds the final name
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                out.close();
            } catch (IOException | RuntimeException e) {
                abandon();
                throw e;
            }
            unsynced.finished(target, madeDirectory);
        }

        @Override
        public void abandon() throws IOException {
            try {
                out.close();
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
    }
}
