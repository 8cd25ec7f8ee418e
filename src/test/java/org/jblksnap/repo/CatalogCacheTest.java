package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import org.jblksnap.repo.crypto.MasterKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The catalogue read through a {@link CatalogCache}, as a daemon's runs read it: after another
 * process's backup, a prune that deleted and rewrote packs, an index compaction, a pending
 * marker, damaged packs or the repository made again, the table a handle loads through the
 * cache is the one a load from scratch gives, and the load reads only the index objects and
 * footers that are new.
 */
@Timeout(120)
class CatalogCacheTest {
    private static final int CS = 4 << 10;
    private static final int PACK = 64 << 10;

    @TempDir
    Path dir;

    private KeyFiles keys = KeyFiles.NONE;
    /** The objects read (get, ranged get) through the counting store, by name. */
    private final List<String> reads = Collections.synchronizedList(new ArrayList<>());

    private Path repo() {
        return dir.resolve("repo");
    }

    /** The repository's directory, every read through it counted. */
    private ObjectStore counting() {
        return Delegating.proxy(ObjectStore.class, new DirectoryStore(repo()), (self, m, args, through) -> {
            if (m.getName().startsWith("get")) {
                reads.add((String) args[0]);
            }
            return through.call();
        });
    }

    /** What one load read (index objects, packs by their footers) and what its table holds. */
    private record Load(long indexObjects, long footers, List<String> table) {
    }

    /** Opens the repository through the cache ({@link CatalogCache#NONE}: from scratch) and loads its catalogue. */
    private Load load(CatalogCache cache) throws IOException {
        reads.clear();
        try (Repository r = Repository.open(counting(), ObjectStore.LockMode.SHARED, keys, cache)) {
            r.packs().catalog().packCount();
            List<String> read = List.copyOf(reads);
            return new Load(read.stream().filter(n -> n.startsWith(PackIndexes.PREFIX)).count(),
                    read.stream().filter(n -> n.startsWith(PackCatalog.PREFIX)).distinct().count(), table(r));
        }
    }

    /** A cached load, checked line by line against a load from scratch; returns it. */
    private Load sameAsFresh(CatalogCache cache) throws IOException {
        Load cached = load(cache);
        List<String> fresh = load(CatalogCache.NONE).table();
        for (int i = 0; i < Math.max(fresh.size(), cached.table().size()); i++) {
            assertEquals(i < fresh.size() ? fresh.get(i) : null, i < cached.table().size() ? cached.table().get(i) : null,
                    "line " + i + " of the table: the cached load is the fresh one");
        }
        return cached;
    }

    /**
     * The table as a list of lines: the packs by number (size, condemned), the damaged ones, and
     * for each entry of every listed pack whose own index reads, its number and where the table
     * finds it.
     */
    private static List<String> table(Repository r) throws IOException {
        PackCatalog c = r.packs().catalog();
        List<String> lines = new ArrayList<>();
        for (int n = 0; n < c.packCount(); n++) {
            lines.add(n + " " + c.packName(n) + " " + c.size(n) + (c.condemned(n) ? " condemned" : ""));
        }
        lines.add("damaged " + c.damagedPacks().keySet());
        for (ObjectStore.Stored o : c.packObjects()) {
            List<PackFile.Entry> entries;
            try {
                entries = PackFile.readIndex(c.codec(), PackFile.Source.of(r.store(), o.name(), o.size()));
            } catch (RepositoryException damaged) {
                continue;
            }
            for (PackFile.Entry e : entries) {
                int k = c.entryNumber(e.type(), e.hash());
                lines.add(e.type() + " " + e.hash().hex() + " " + k + (k < 0 ? "" : " " + c.packOf(k) + " "
                        + c.location(k) + " dedup " + c.dedupEntry(e.type(), e.hash())));
            }
        }
        return lines;
    }

    /** A backup by another process (no cache). */
    private long backup(String device, byte[] content) throws IOException {
        return backup(device, content, CatalogCache.NONE);
    }

    private long backup(String device, byte[] content, CatalogCache cache) throws IOException {
        try (Repository r = Repository.openOrCreate(new DirectoryStore(repo()), RepositoryConfig.of(CS, PACK), keys,
                cache)) {
            return Points.commit(r, device, content);
        }
    }

    private PruneReport prune(int keep, CatalogCache cache) throws IOException {
        try (Repository p = Repository.open(new DirectoryStore(repo()), ObjectStore.LockMode.PRUNE, keys, cache)) {
            return Pruner.prune(p, keep);
        }
    }

    private List<Path> files(String under, String suffix) throws IOException {
        try (Stream<Path> s = Files.walk(repo().resolve(under))) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
        }
    }

    private static byte[] content(int chunks, long seed) {
        return Points.random(chunks * CS, seed);
    }

    private void unchangedRepositoryIsReadOnce() throws IOException {
        for (int i = 0; i < 3; i++) {
            backup("vda", content(64, i));
        }
        Files.delete(files("index", ".idx").getFirst()); // as if that run was killed: its packs are read by footers
        CatalogCache cache = new CatalogCache(2);
        Load first = sameAsFresh(cache);
        assertEquals(2, first.indexObjects());
        assertTrue(first.footers() > 0, "a run's packs no index object names");
        Load second = sameAsFresh(cache);
        assertEquals(0, second.indexObjects(), "no index object read again");
        assertEquals(0, second.footers(), "no footer read again");
        Load fresh = load(CatalogCache.NONE);
        assertEquals(List.of(2L, first.footers()), List.of(fresh.indexObjects(), fresh.footers()));
    }

    @Test
    void aSecondLoadOfAnUnchangedRepositoryReadsNoIndexObjectNorFooter() throws IOException {
        unchangedRepositoryIsReadOnce();
    }

    @Test
    void anEncryptedRepositoryOpenedAgainWithItsPasswordIsReadOnce() throws IOException {
        keys = new KeyFiles(Files.writeString(dir.resolve("pw"), "pw"), null);
        unchangedRepositoryIsReadOnce();
    }

    @Test
    void aLoadAfterAnotherProcesssBackupReadsOnlyItsIndexObject() throws IOException {
        backup("vda", content(64, 1));
        CatalogCache cache = new CatalogCache(2);
        sameAsFresh(cache);
        long id = backup("vda", content(64, 2));
        Load after = sameAsFresh(cache);
        assertEquals(List.of(1L, 0L), List.of(after.indexObjects(), after.footers()));
        try (Repository r = Repository.open(counting(), ObjectStore.LockMode.SHARED, keys, cache)) {
            assertArrayEquals(content(64, 2), Points.read(r, id));
        }
    }

    /**
     * Point a is removed: the packs of its second half are deleted, those of its first half (half
     * of which b still uses) rewritten. What those packs held is no longer found through the
     * cache, which took their entries from an index object the prune's compaction deleted.
     */
    @Test
    void aLoadAfterAPruneFindsNoEntryOfThePacksItDeleted() throws IOException {
        byte[] a = content(128, 1);
        byte[] b = a.clone();
        byte[] other = content(128, 2);
        for (int c = 0; c < 128; c++) {
            if (c >= 64 || c % 2 == 1) {
                System.arraycopy(other, c * CS, b, c * CS, CS);
            }
        }
        backup("vda", a);
        long kept = backup("vda", b);
        Hash gone;
        CatalogCache cache = new CatalogCache(2);
        try (Repository r = Repository.open(counting(), ObjectStore.LockMode.SHARED, keys, cache)) {
            gone = r.packs().id(a, 127 * CS, CS);
            assertTrue(r.packs().contains(EntryType.CHUNK, gone), "the cache has loaded it");
        }
        PruneReport report = prune(1, CatalogCache.NONE);
        assertTrue(report.removedPacks() > 0 && report.rewrittenPacks() > 0, report.format());
        Load after = sameAsFresh(cache);
        assertEquals(List.of(1L, 0L), List.of(after.indexObjects(), after.footers()), "the merged index object only");
        try (Repository r = Repository.open(counting(), ObjectStore.LockMode.SHARED, keys, cache)) {
            assertFalse(r.packs().contains(EntryType.CHUNK, gone), "a deleted pack's entry is not found");
            assertArrayEquals(b, Points.read(r, kept));
        }
    }

    @Test
    void aLoadAfterAnIndexCompactionReadsTheMergedObjectOnly() throws IOException {
        for (int i = 0; i < 3; i++) {
            backup("vd" + i, content(64, i));
        }
        CatalogCache cache = new CatalogCache(2);
        assertEquals(3, sameAsFresh(cache).indexObjects());
        PruneReport report = prune(5, CatalogCache.NONE);
        assertTrue(report.removedPoints().isEmpty(), report.format());
        assertEquals(1, files("index", ".idx").size(), report.format());
        Load after = sameAsFresh(cache);
        assertEquals(List.of(1L, 0L), List.of(after.indexObjects(), after.footers()));
    }

    /** A daemon's job: its backup and its prune write index objects, which its next run need not read. */
    @Test
    void whatThisProcessWroteIsNotReadAgain() throws IOException {
        backup("vda", content(64, 1));
        CatalogCache cache = new CatalogCache(2);
        backup("vda", content(64, 2), cache);
        PruneReport report = prune(1, cache);
        assertTrue(report.removedPacks() > 0, report.format());
        Load after = sameAsFresh(cache);
        assertEquals(List.of(0L, 0L), List.of(after.indexObjects(), after.footers()));
    }

    /**
     * A marker waits for a holder: its packs are condemned (absent for dedup, read last, by their
     * footers), through the cache as from scratch; a damaged pack is named, and read again.
     */
    @Test
    void condemnedAndDamagedPacksAreAsInAFreshLoad() throws IOException {
        backup("vda", content(64, 1));
        backup("vda", content(64, 2));
        CatalogCache cache = new CatalogCache(2);
        sameAsFresh(cache);
        try (Repository holder = Repository.open(new DirectoryStore(repo()), false)) {
            PruneReport report = prune(1, CatalogCache.NONE);
            assertTrue(report.condemnedPacks() > 0 && report.waitingMarkers() == 1, report.format());
            Load pending = sameAsFresh(cache);
            assertTrue(pending.table().stream().anyMatch(l -> l.endsWith(" condemned")), "condemned packs");
            assertTrue(pending.table().stream().anyMatch(l -> l.endsWith(" dedup -1")), "absent for dedup");
            assertEquals(0, sameAsFresh(cache).footers(), "the condemned packs' footers are kept");
        }
        backup("vdb", content(64, 3));
        Path pack = files("packs", ".pack").stream().max(Comparator.comparing(p -> p.toFile().lastModified()))
                .orElseThrow();
        for (Path index : files("index", ".idx")) {
            Files.delete(index);
        }
        try (FileChannel ch = FileChannel.open(pack, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("XXXXXXXX".getBytes()), ch.size() - 8); // its footer no longer reads
        }
        Load damaged = sameAsFresh(cache);
        assertTrue(damaged.table().contains("damaged [" + pack + "]"), damaged.table().toString());
        assertEquals(1, sameAsFresh(cache).footers(), "the damaged pack is read again, no other");
        Path cut = files("packs", ".pack").stream().filter(p -> !p.equals(pack)).findFirst().orElseThrow();
        try (FileChannel ch = FileChannel.open(cut, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 1);
        }
        assertEquals(2, sameAsFresh(cache).footers(), "a pack of another size is read again");
    }

    /**
     * A pack's footer and an index object written over after the cache read them (a damaged
     * disk, a hand): the listing shows them at another time (or size), so they are read again
     * and found damaged, as a load from scratch finds them; the next backup through the cache
     * stores their content again, and its point restores in a process of its own.
     */
    @Test
    void whatIsWrittenOverAfterItWasReadIsReadAgain() throws IOException {
        byte[] a = content(64, 1);
        backup("vda", a);
        Path index = files("index", ".idx").getFirst();
        Path aside = Files.copy(index, dir.resolve("index-aside"));
        Files.delete(index); // a killed run: its packs are read by their footers
        CatalogCache cache = new CatalogCache(2);
        sameAsFresh(cache);
        Files.copy(aside, index);
        sameAsFresh(cache); // the index object is kept too now
        Path pack = files("packs", ".pack").getFirst();
        try (FileChannel ch = FileChannel.open(pack, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("XXXXXXXX".getBytes()), ch.size() - 8); // same size, its footer no longer reads
        }
        try (FileChannel ch = FileChannel.open(index, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), ch.size() / 2); // same size, no longer reads
        }
        Load damaged = sameAsFresh(cache);
        assertTrue(damaged.table().contains("damaged [" + pack + "]"), damaged.table().toString());
        assertEquals(1, damaged.indexObjects(), "the index object written over is read again");
        long id = backup("vdb", a, cache);
        try (Repository r = Repository.open(repo(), false)) {
            assertArrayEquals(a, Points.read(r, id), "what the damaged pack holds was stored again");
        }
        prune(5, cache);
        assertFalse(files("index", ".idx").contains(index), "a prune through the cache replaces the damaged object");
    }

    /** The repository made again at the same place: nothing of the first is used. */
    @Test
    void aRepositoryMadeAgainAtTheSamePlaceStartsAfresh() throws IOException {
        byte[] first = content(64, 1);
        backup("vda", first);
        CatalogCache cache = new CatalogCache(2);
        sameAsFresh(cache);
        try (Stream<Path> s = Files.walk(repo())) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        backup("vda", content(64, 2));
        Load again = sameAsFresh(cache);
        assertEquals(1, again.indexObjects());
        try (Repository r = Repository.open(counting(), ObjectStore.LockMode.SHARED, keys, cache)) {
            assertFalse(r.packs().contains(EntryType.CHUNK, r.packs().id(first, 0, CS)));
        }
    }

    /** Kept by location, for one repository and key there; the least recently opened location goes first. */
    @Test
    void oneRepositoryAndKeyPerLocationAndFewLocations() {
        CatalogCache cache = new CatalogCache(2);
        RepositoryConfig config = RepositoryConfig.of(CS, PACK, true);
        SecureRandom random = new SecureRandom();
        ObjectCodec key = ObjectCodec.sealed(MasterKey.generate(random));
        CatalogCache.Known x = cache.of("x", config, key);
        assertSame(x, cache.of("x", config, key));
        assertNotSame(x, cache.of("x", config, ObjectCodec.sealed(MasterKey.generate(random))), "another key");
        x = cache.of("x", config, key);
        assertNotSame(x, cache.of("x", RepositoryConfig.of(CS, PACK, true), key), "another repository");
        x = cache.of("x", config, key);
        CatalogCache.Known y = cache.of("y", config, key);
        assertSame(x, cache.of("x", config, key));
        cache.of("z", config, key);
        assertSame(x, cache.of("x", config, key));
        assertNotSame(y, cache.of("y", config, key), "the least recently opened was dropped");
        assertNotSame(CatalogCache.NONE.of("x", config, key), CatalogCache.NONE.of("x", config, key));
    }
}
