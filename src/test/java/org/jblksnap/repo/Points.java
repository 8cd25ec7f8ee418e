package org.jblksnap.repo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/** Points written straight into a repository from bytes in memory, and read back, for tests. */
public final class Points {
    private Points() {
    }

    public static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /**
     * Stores content as a new point of the device (chunks of zeroes and blocks of zeroes are
     * not stored) and commits it; returns its id.
     */
    public static long commit(Repository repo, String device, byte[] content) throws IOException {
        return commit(repo, device, content, null, null);
    }

    /** The same, as a point incremental to parent (null: none) with those stats (null: none). */
    public static long commit(Repository repo, String device, byte[] content, Long parent, PointStats stats)
            throws IOException {
        Geometry g = new Geometry(content.length, repo.blockSize(), repo.chunkSize());
        PackStore packs = repo.packs();
        HashList index = new HashList(g.blockCount());
        for (int b = 0; b < index.count(); b++) {
            HashList manifest = new HashList(g.chunkCount(b));
            for (int c = 0; c < manifest.count(); c++) {
                int from = b * g.blockSize() + c * g.chunkSize();
                int len = g.chunkLength(b, c);
                if (Arrays.mismatch(content, from, from + len, new byte[len], 0, len) >= 0) {
                    Hash h = packs.id(content, from, len);
                    packs.put(EntryType.CHUNK, h, content, from, len);
                    manifest.set(c, h);
                }
            }
            if (!manifest.isZero()) {
                Hash mh = packs.id(manifest);
                packs.putManifest(mh, manifest);
                index.set(b, mh);
            }
        }
        return repo.commit(new PointMeta(device, content.length, repo.blockSize(), repo.chunkSize(),
                Instant.now(), "gen", 3, parent, "test", stats), index);
    }

    /** What a function of an open repository gives. */
    public interface RepoFunction<T> {
        T apply(Repository repo) throws IOException;
    }

    /** Opens the repository (shared) for the function, and closes it. */
    public static <T> T withRepository(Path dir, RepoFunction<T> f) throws IOException {
        try (Repository r = Repository.open(dir, false)) {
            return f.apply(r);
        }
    }

    /** The distinct chunks a point uses, in the order of their hashes. */
    public static List<Hash> chunks(Repository repo, long id) throws IOException {
        Point p = repo.points().get(id);
        HashList index = repo.points().index(p);
        Set<Hash> all = new HashSet<>();
        for (int b = 0; b < index.count(); b++) {
            HashList manifest = repo.packs().manifest(p.meta().geometry(), index, b);
            for (int c = 0; c < manifest.count(); c++) {
                if (!manifest.get(c).isZero()) {
                    all.add(manifest.get(c));
                }
            }
        }
        return all.stream().sorted(Comparator.comparing(Hash::hex)).toList();
    }

    /** The pack the repository reads an entry from. */
    public static Path packOf(Repository repo, EntryType type, Hash h) {
        try {
            PackCatalog catalog = repo.packs().catalog();
            return ((DirectoryStore) repo.store()).path(catalog.packOf(catalog.entryNumber(type, h)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The object name of the pack the repository reads an entry from, and where the entry's frame is in it. */
    public record Place(String pack, String shown, long offset, int length) {
    }

    public static Place placeOf(Repository repo, EntryType type, Hash h) throws IOException {
        PackCatalog catalog = repo.packs().catalog();
        int n = catalog.entryNumber(type, h);
        EntryTable.Location at = catalog.location(n);
        String name = catalog.packOf(n);
        return new Place(name, repo.store().describe(name), at.offset(), at.length());
    }

    /** The index of a pack file of an unencrypted repository of the current version, read and checked. */
    public static List<PackFile.Entry> readIndex(Path pack) throws IOException {
        String name = PackCatalog.PREFIX + pack.getParent().getFileName() + "/" + pack.getFileName();
        return PackFile.readIndex(ObjectCodec.plain(RepositoryConfig.VERSION),
                PackFile.Source.of(Files.readAllBytes(pack), name, pack.toString()));
    }

    /** The index of every pack in the store (finished ones), pack by pack, each in file order. */
    public static List<List<PackFile.Entry>> packIndexes(Repository repo) throws IOException {
        List<List<PackFile.Entry>> all = new ArrayList<>();
        for (ObjectStore.Stored o : repo.packs().catalog().packObjects()) {
            all.add(PackFile.readIndex(repo.packs().catalog().codec(), PackFile.Source.of(repo.store(), o.name(), o.size())));
        }
        return all;
    }

    /** How many packs of the repository hold the entry (a duplicate counts). */
    public static long copiesOf(Repository repo, EntryType type, Hash h) throws IOException {
        long n = 0;
        for (List<PackFile.Entry> pack : packIndexes(repo)) {
            n += pack.stream().filter(e -> e.type() == type && e.hash().equals(h)).count();
        }
        return n;
    }

    /** Flips a bit in the middle of the entry's frame, in its pack. */
    public static void damage(Repository repo, EntryType type, Hash h) throws IOException {
        PackCatalog catalog = repo.packs().catalog();
        EntryTable.Location at = catalog.location(catalog.entryNumber(type, h));
        try (FileChannel ch = FileChannel.open(packOf(repo, type, h), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            long pos = at.offset() + at.length() / 2;
            ch.read(one, pos);
            one.put(0, (byte) (one.get(0) ^ 0x10)).rewind();
            ch.write(one, pos);
        }
    }

    /** A point's content, read through {@link PointImage}. */
    public static byte[] read(Repository repo, long id) throws IOException {
        PointImage img = PointImage.open(repo, id);
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(img.capacity()));
        img.read(0, b);
        return b.array();
    }
}
