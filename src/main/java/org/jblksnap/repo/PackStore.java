package org.jblksnap.repo;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.jblksnap.error.IoMessages;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;

/**
 * The stored content of a repository: chunks and manifests, each one zstd frame named by the
 * SHA-256 of its content, appended to pack files under {@code packs/} ({@link PackFile}).
 *
 * <p>Writers share one open pack: an entry is compressed outside the lock and appended under
 * it; a pack that reaches the configured size is closed (index, footer, fsync, rename) by the
 * writer that filled it, and the next entry starts a new one. {@link #flush} closes the open
 * pack, waits for those being closed and fsyncs the directories that got new names: a point
 * may then be committed. A failed pack write makes the store refuse further writes (its
 * entries point into a pack that will never be whole).
 *
 * <p>On first use every pack's index is read into an {@link EntryTable}, for dedup and reads.
 * A pack whose index cannot be read is left out (and listed by {@link #damagedPacks}): what it
 * holds counts as absent, so a backup stores it again. A hash stored in several packs (after
 * a crash, or by concurrent backups) is read from the first pack found. A read that misses
 * looks for packs written since by other processes before it reports the entry missing.
 */
public final class PackStore implements AutoCloseable {
    private final Path root;
    private final RepositoryConfig config;
    private final ThreadLocal<byte[]> compressBuffer;

    // all guarded by this
    private EntryTable table;
    /** Each pack's current name, by its number in the table. */
    private final List<Path> packs = new ArrayList<>();
    private final Set<Path> seen = new HashSet<>();
    private final Map<Path, String> damaged = new TreeMap<>();
    private PackWriter open;
    private int openNumber;
    private int closing;
    private IOException broken;
    private final Set<Path> unsyncedDirs = new HashSet<>();

    PackStore(Path root, RepositoryConfig config) {
        this.root = root;
        this.config = config;
        int largest = Math.max(config.chunkSize(), config.maxManifestLength());
        this.compressBuffer = ThreadLocal.withInitial(() -> new byte[(int) Zstd.compressBound(largest)]);
    }

    /**
     * Stores data[off, off + length) as an entry of the type named h, unless the repository has
     * one already. Returns the compressed bytes written, 0 if none.
     */
    public long put(EntryType type, Hash h, byte[] data, int off, int length) throws IOException {
        if (h.isZero()) {
            throw new IllegalArgumentException("zeroes are not stored");
        }
        int found = table().find(type, h);
        if (found >= 0) {
            relyOn(found);
            return 0;
        }
        byte[] out = compressBuffer.get();
        long n = Zstd.compressByteArray(out, 0, out.length, data, off, length, config.zstdLevel());
        if (Zstd.isError(n)) {
            throw new IOException("zstd compression failed: " + Zstd.getErrorName(n));
        }
        PackWriter full;
        int fullNumber;
        synchronized (this) {
            checkWritable();
            found = table.find(type, h);
            if (found >= 0) {
                relyOn(found); // another writer stored it meanwhile
                return 0;
            }
            try {
                if (open == null) {
                    open = PackWriter.create(root);
                    openNumber = packs.size();
                    packs.add(open.temporary());
                }
                long offset = open.append(type, h, out, (int) n, length);
                table.put(type, h, openNumber, offset, (int) n);
            } catch (IOException | RuntimeException e) {
                throw broken(e);
            }
            if (open.size() < config.packSize()) {
                return n;
            }
            full = open;
            fullNumber = openNumber;
            open = null;
            closing++;
        }
        try {
            finish(full, fullNumber);
        } finally {
            synchronized (this) {
                closing--;
                notifyAll();
            }
        }
        return n;
    }

    /**
     * A point about to be committed uses an entry found already stored. Its pack may come
     * from another process that never synced the pack's directory (killed before its commit,
     * or still running), so that directory, and packs/ for a new XX, are synced before the
     * point is committed, like the directories of the packs this handle finished.
     */
    private synchronized void relyOn(int entry) {
        Path pack = packs.get(table.location(entry).pack());
        if (!AtomicFiles.isTemporary(pack) && unsyncedDirs.add(pack.getParent())) {
            unsyncedDirs.add(root);
        }
    }

    /**
     * Stores a manifest under its hash ({@link HashList#hash()}) unless it is there; returns
     * the compressed bytes written.
     */
    public long putManifest(Hash h, HashList manifest) throws IOException {
        byte[] raw = manifest.bytes();
        return put(EntryType.MANIFEST, h, raw, 0, raw.length);
    }

    /**
     * Closes the open pack and waits for those being closed; then fsyncs the directories that
     * got names.
     */
    public synchronized void flush() throws IOException {
        checkWritable();
        if (open != null) {
            PackWriter w = open;
            open = null;
            finish(w, openNumber);
        }
        try {
            while (closing > 0) {
                wait();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while packs were closed");
        }
        checkWritable();
        syncDirectories();
    }

    private void finish(PackWriter w, int number) throws IOException {
        Path p;
        try {
            p = w.finish();
        } catch (IOException | RuntimeException e) {
            synchronized (this) {
                throw broken(e);
            }
        }
        synchronized (this) {
            packs.set(number, p);
            seen.add(p);
            unsyncedDirs.add(p.getParent());
            if (w.madeDirectory()) {
                unsyncedDirs.add(root);
            }
        }
    }

    private IOException broken(Exception e) {
        IOException io = e instanceof IOException x ? x : new IOException(e.getMessage(), e);
        if (broken == null) {
            broken = io;
        }
        return io;
    }

    private void checkWritable() throws IOException {
        if (broken != null) {
            throw new IOException("a pack could not be written earlier (" + broken.getMessage()
                    + "): nothing more is stored through this repository handle", broken);
        }
    }

    /** The directories the next flush fsyncs (for tests and diagnostics). */
    synchronized Set<Path> unsyncedDirectories() {
        return Set.copyOf(unsyncedDirs);
    }

    /** fsyncs the directories that got or lost names since the last call, deepest first. */
    private synchronized void syncDirectories() throws IOException {
        List<Path> dirs = new ArrayList<>(unsyncedDirs);
        dirs.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        for (Path d : dirs) {
            AtomicFiles.syncDirectory(d);
            unsyncedDirs.remove(d);
        }
    }

    /** A chunk's content, checked against its hash and the length its place needs. */
    public byte[] chunk(Hash h, int length) throws IOException {
        return get(EntryType.CHUNK, h, length);
    }

    /** A manifest of the given number of chunks, checked against its hash. */
    public HashList manifest(Hash h, int chunks) throws IOException {
        return HashList.fromBytes(get(EntryType.MANIFEST, h, chunks * Hash.BYTES));
    }

    /** The manifest of a point's block (all zero hashes for a block of zeroes), checked. */
    public HashList manifest(PointMeta point, HashList index, int block) throws IOException {
        Hash h = index.get(block);
        int chunks = point.chunkCount(block);
        return h.isZero() ? new HashList(chunks) : manifest(h, chunks);
    }

    /**
     * An entry's content, checked against its hash and the expected length. When the copy
     * reads use cannot be read, another copy serves: the copy may be damaged or cut short
     * while a crash or two backups at once left the entry in two packs, or its pack may have
     * been finished by another thread meanwhile (renamed before the new name is recorded,
     * and found again under that name).
     */
    byte[] get(EntryType type, Hash h, int length) throws IOException {
        EntryTable.Location at = locate(type, h);
        Path file = packPath(at.pack());
        try {
            return decode(type, h, frame(file, at), length, file);
        } catch (IOException unreadable) {
            byte[] copy = fromAnotherCopy(type, h, length, file);
            if (copy != null) {
                return copy;
            }
            if (unreadable instanceof NoSuchFileException) {
                throw new BadEntryException(type, h, true, "missing (its pack " + file + " is gone)");
            }
            throw unreadable;
        }
    }

    private static byte[] frame(Path file, EntryTable.Location at) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return PackFile.readFrame(ch, at.offset(), at.length(), file);
        }
    }

    /**
     * Whether the copy of an entry that reads use decodes and matches its hash, without
     * trying any other copy; false too when it cannot be read at all.
     */
    boolean readCopyIsGood(EntryType type, Hash h, int length) throws IOException {
        EntryTable.Location at = locate(type, h);
        Path file = packPath(at.pack());
        try {
            decode(type, h, frame(file, at), length, file);
            return true;
        } catch (IOException unreadable) {
            return false;
        }
    }

    /**
     * The entry read from a good copy in a finished pack other than unreadable, the one reads
     * use; null when there is none. Only a copy that cannot be read brings a read here, so
     * reading pack indexes again costs nothing in the normal case.
     */
    private byte[] fromAnotherCopy(EntryType type, Hash h, int length, Path unreadable) throws IOException {
        for (Path p : packFiles()) {
            if (p.equals(unreadable)) {
                continue;
            }
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                for (PackFile.Entry e : PackFile.readIndex(ch, p)) {
                    if (e.type() == type && e.hash().equals(h)) {
                        return decode(type, h, PackFile.readFrame(ch, e.offset(), e.length(), p), length, p);
                    }
                }
            } catch (IOException tryNext) {
                // a damaged or vanished pack, or a damaged copy: try the next
            }
        }
        return null;
    }

    private EntryTable.Location locate(EntryType type, Hash h) throws IOException {
        EntryTable.Location at = table().get(type, h);
        if (at == null) {
            synchronized (this) {
                scan(); // packs written by others since
                at = table.get(type, h);
                if (at == null) {
                    throw new BadEntryException(type, h, true, "missing" + (damaged.isEmpty() ? ""
                            : " (" + damaged.size() + " damaged pack" + (damaged.size() > 1 ? "s" : "")
                                    + " could not be read: " + String.join(", ", damaged.keySet().stream()
                                            .map(Path::toString).toList()) + ")"));
                }
            }
        }
        return at;
    }

    /**
     * Decompresses a frame and checks it: the content size its header gives, the expected
     * length (for a chunk, at most the chunk size; for a manifest, whole hashes of a block at
     * the most) and the hash.
     */
    byte[] decode(EntryType type, Hash h, byte[] frame, int length, Path file) throws BadEntryException {
        int max = type == EntryType.CHUNK ? config.chunkSize() : config.maxManifestLength();
        if (length <= 0 || length > max || (type == EntryType.MANIFEST && length % Hash.BYTES != 0)) {
            throw bad(type, h, "a length of " + length + " bytes does not fit a " + type, file);
        }
        byte[] data;
        try {
            long size = Zstd.getFrameContentSize(frame);
            if (size < 0 || size > max) {
                throw bad(type, h, "not a zstd frame of at most " + max + " bytes", file);
            }
            if (size != length) {
                throw bad(type, h, "is " + size + " bytes where " + length + " are needed", file);
            }
            data = new byte[(int) size];
            long n = Zstd.decompressByteArray(data, 0, data.length, frame, 0, frame.length);
            if (n != size) {
                throw bad(type, h, "decompresses to " + n + " bytes instead of " + size, file);
            }
        } catch (ZstdException e) {
            throw bad(type, h, "cannot be decompressed (" + e.getMessage() + ")", file);
        }
        if (!Hash.of(data, 0, data.length).equals(h)) {
            throw bad(type, h, "content does not match its hash", file);
        }
        return data;
    }

    private static BadEntryException bad(EntryType type, Hash h, String problem, Path file) {
        return new BadEntryException(type, h, false, problem + " (in pack " + file + ")");
    }

    /** The table, after reading every pack's index on first use. */
    private synchronized EntryTable table() throws IOException {
        if (table == null) {
            table = new EntryTable();
            try {
                scan();
            } catch (IOException | RuntimeException e) {
                table = null; // the next use scans again, never with a table half loaded
                seen.clear();
                packs.clear();
                damaged.clear();
                throw e;
            }
        }
        return table;
    }

    /** Reads the index of every pack not read yet into the table. */
    private synchronized void scan() throws IOException {
        for (Path p : packFiles()) {
            if (!seen.add(p)) {
                continue;
            }
            List<PackFile.Entry> entries;
            try {
                entries = PackFile.readIndex(p);
            } catch (IOException e) {
                damaged.put(p, e instanceof RepositoryException ? e.getMessage()
                        : "pack " + p + ": " + IoMessages.reason(e));
                continue;
            }
            int number = packs.size();
            packs.add(p);
            for (PackFile.Entry e : entries) {
                table.put(e.type(), e.hash(), number, e.offset(), e.length());
            }
        }
    }

    /** Every finished pack under packs/, sorted (temporary and foreign names are skipped). */
    public List<Path> packFiles() throws IOException {
        List<Path> all = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            String r = root.toString();
            throw Files.exists(root) ? new NotDirectoryException(r) : new NoSuchFileException(r);
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : (Iterable<Path>) dirs.filter(PackStore::isPackDirectory).sorted()::iterator) {
                try (Stream<Path> files = Files.list(d)) {
                    files.filter(f -> isPackName(f.getFileName().toString())).sorted().forEach(all::add);
                }
            }
        }
        return all;
    }

    private static boolean isPackDirectory(Path d) {
        String n = d.getFileName().toString();
        return n.length() == 2 && isHex(n) && Files.isDirectory(d);
    }

    private static boolean isPackName(String n) {
        return n.length() == 32 + PackFile.SUFFIX.length() && n.endsWith(PackFile.SUFFIX)
                && isHex(n.substring(0, 32));
    }

    private static boolean isHex(String s) {
        return s.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f');
    }

    /** The packs whose index could not be read, with why; they are not used. */
    public synchronized Map<Path, String> damagedPacks() throws IOException {
        table();
        return new TreeMap<>(damaged);
    }

    // for verify and prune

    synchronized Path packPath(int number) {
        return packs.get(number);
    }

    /** The number of the table's entry for (type, h), or -1. */
    /** Whether an entry of that type and hash is stored (in a pack whose index reads). */
    public boolean contains(EntryType type, Hash h) throws IOException {
        return entryNumber(type, h) >= 0;
    }

    int entryNumber(EntryType type, Hash h) throws IOException {
        return table().find(type, h);
    }

    EntryTable.Location location(int entry) throws IOException {
        return table().location(entry);
    }

    /** How many packs the table knows (numbered from 0), after reading them on first use. */
    synchronized int packCount() throws IOException {
        table();
        return packs.size();
    }

    /**
     * Writes the given entries of a pack into a new pack and makes it durable (its directory
     * synced), then deletes the old pack: a crash in between leaves both, never neither.
     * Returns the new pack's size.
     */
    synchronized long rewrite(Path pack, List<PackFile.Entry> keep) throws IOException {
        PackWriter w = PackWriter.create(root);
        try (FileChannel in = FileChannel.open(pack, StandardOpenOption.READ)) {
            for (PackFile.Entry e : keep) {
                byte[] frame = PackFile.readFrame(in, e.offset(), e.length(), pack);
                w.append(e.type(), e.hash(), frame, frame.length, e.rawLength());
            }
        } catch (IOException | RuntimeException e) {
            w.abandon();
            throw e;
        }
        Path done = w.finish();
        AtomicFiles.syncDirectory(done.getParent());
        if (w.madeDirectory()) {
            AtomicFiles.syncDirectory(root);
        }
        delete(pack);
        return Files.size(done);
    }

    /** Deletes a pack and syncs its directory. */
    synchronized void delete(Path pack) throws IOException {
        Files.delete(pack);
        AtomicFiles.syncDirectory(pack.getParent());
    }

    /** Forgets every pack, so that the next use reads them again (after prune changed them). */
    synchronized void reload() {
        if (open != null || closing > 0) {
            throw new IllegalStateException("packs are being written");
        }
        table = null;
        packs.clear();
        seen.clear();
        damaged.clear();
    }

    /** Abandons the open pack, if any: no point can use what it holds. */
    @Override
    public synchronized void close() throws IOException {
        if (open != null) {
            PackWriter w = open;
            open = null;
            w.abandon();
        }
    }
}
