package org.jblksnap.repo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.jblksnap.error.IoMessages;

/**
 * Which packs there are under {@code packs/} and where each entry is in them. On first use
 * every finished pack's index is read into an {@link EntryTable}, for dedup and reads; the
 * packs are numbered in the order they were read, and a pack this handle writes is numbered
 * when it starts (under its temporary name) and renamed in the list when it is finished.
 *
 * <p>A pack whose index cannot be read is left out and remembered with why
 * ({@link #damagedPacks}): what it holds counts as absent, so a backup stores it again. A
 * hash stored in several packs (after a crash, or by concurrent backups) is found in the first
 * pack read. A lookup that misses reads the packs finished since by other processes
 * ({@link #locate}) before it reports the entry missing. Pack names and layout:
 * {@code docs/REPOSITORY.md#pack-files}.
 *
 * <p>Thread-safe: its fields are guarded by its monitor (lock order: {@link PackStore}).
 */
final class PackCatalog {
    private final Path root;

    // guarded by this
    /** Null until every pack's index was read: never kept half loaded. */
    private EntryTable table;
    /** Each pack's current name, by its number in the table. */
    private final List<Path> packs = new ArrayList<>();
    private final Set<Path> seen = new HashSet<>();
    private final Map<Path, String> damaged = new TreeMap<>();

    PackCatalog(Path root) {
        this.root = root;
    }

    /** The {@code packs/} directory. */
    Path root() {
        return root;
    }

    /** The number of the table's entry for (type, h), or -1. */
    int entryNumber(EntryType type, Hash h) throws IOException {
        return table().find(type, h);
    }

    /** Whether an entry of that type and hash is stored (in a pack whose index reads). */
    boolean contains(EntryType type, Hash h) throws IOException {
        return entryNumber(type, h) >= 0;
    }

    EntryTable.Location location(int entry) throws IOException {
        return table().location(entry);
    }

    /** The current name of the pack that holds the entry reads use. */
    synchronized Path packOf(int entry) throws IOException {
        return packs.get(location(entry).pack());
    }

    synchronized Path packPath(int number) {
        return packs.get(number);
    }

    /** How many packs the table knows (numbered from 0), after reading them on first use. */
    synchronized int packCount() throws IOException {
        table();
        return packs.size();
    }

    /**
     * Where the entry is; when the table has none, the packs finished since by other
     * processes are read first. Missing even then: a BadEntryException naming the damaged
     * packs, if any, since what they held counts as absent.
     */
    EntryTable.Location locate(EntryType type, Hash h) throws IOException {
        EntryTable.Location at = table().get(type, h);
        if (at != null) {
            return at;
        }
        synchronized (this) {
            scan();
            at = table.get(type, h);
            if (at == null) {
                throw new BadEntryException(type, h, true, "missing" + (damaged.isEmpty() ? ""
                        : " (" + damaged.size() + " damaged pack" + (damaged.size() > 1 ? "s" : "")
                                + " could not be read: " + String.join(", ", damaged.keySet().stream()
                                        .map(Path::toString).toList()) + ")"));
            }
            return at;
        }
    }

    /** The packs whose index could not be read, with why; they are not used. */
    synchronized Map<Path, String> damagedPacks() throws IOException {
        table();
        return new TreeMap<>(damaged);
    }

    // for the appender

    /** Numbers a pack this handle starts writing, under its temporary name. */
    synchronized int started(Path temporary) {
        packs.add(temporary);
        return packs.size() - 1;
    }

    /** Records an entry appended to the pack of that number (unless one is recorded already). */
    void record(EntryType type, Hash h, int pack, long offset, int length) throws IOException {
        table().put(type, h, pack, offset, length);
    }

    /** The pack of that number was finished under its final name. */
    synchronized void finished(int number, Path name) {
        packs.set(number, name);
        seen.add(name);
    }

    /** Forgets every pack, so that the next use reads them all again (after prune changed them). */
    synchronized void forget() {
        table = null;
        packs.clear();
        seen.clear();
        damaged.clear();
    }

    /** Every finished pack under packs/, sorted (temporary and foreign names are skipped). */
    List<Path> packFiles() throws IOException {
        List<Path> all = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            String r = root.toString();
            throw Files.exists(root) ? new NotDirectoryException(r) : new NoSuchFileException(r);
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : (Iterable<Path>) dirs.filter(PackCatalog::isPackDirectory).sorted()::iterator) {
                try (Stream<Path> files = Files.list(d)) {
                    files.filter(f -> isPackName(f.getFileName().toString())).sorted().forEach(all::add);
                }
            }
        }
        return all;
    }

    /** The table, after reading every pack's index on first use. */
    private synchronized EntryTable table() throws IOException {
        if (table == null) {
            table = new EntryTable();
            try {
                scan();
            } catch (IOException | RuntimeException e) {
                forget(); // the next use scans again, never with a table half loaded
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
}
