package org.jblksnap.repo;

import static org.jblksnap.repo.Points.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.jblksnap.testutil.PageCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryTest {
    private static final int CS = 4 << 10;
    private static final int BLOCK = RepositoryConfig.BLOCK_SIZE;

    @TempDir
    Path dir;

    private Path repoDir() {
        return dir.resolve("repo");
    }

    private static RepositoryConfig config() {
        return RepositoryConfig.of(CS, RepositoryConfig.MIN_PACK_SIZE);
    }

    private Repository openOrCreate() throws IOException {
        return Repository.openOrCreate(repoDir(), config());
    }

    /**
     * The pack files, finished or not. A pack finished meanwhile (renamed from its temporary name
     * on a thread of its own) is left out, not an error: Files.walk would throw from its stat.
     */
    private List<Path> packFiles() throws IOException {
        List<Path> packs = new ArrayList<>();
        Files.walkFileTree(repoDir().resolve("packs"), new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path p, BasicFileAttributes a) {
                if (p.getFileName().toString().endsWith(".pack")) {
                    packs.add(p);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path p, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }
        });
        Collections.sort(packs);
        return packs;
    }

    /** A device's content: blocks of random bytes and of zeroes, a short last block with a short last chunk. */
    private static byte[] device(long seed) {
        byte[] b = new byte[2 * BLOCK + 3 * CS + 512];
        byte[] r = random(b.length, seed);
        System.arraycopy(r, 0, b, 0, BLOCK / 2);                       // block 0: half random, half zeroes
        System.arraycopy(r, 2 * BLOCK, b, 2 * BLOCK, b.length - 2 * BLOCK); // block 1 zeroes; block 2 random
        return b;
    }

    @Test
    void createOpenAndRefuseWhatIsNotARepository() throws IOException {
        assertThrows(IllegalArgumentException.class, () -> RepositoryConfig.of(100_000));
        assertThrows(IllegalArgumentException.class, () -> RepositoryConfig.of(2 << 10));
        assertThrows(IllegalArgumentException.class, () -> RepositoryConfig.of(8 << 20));
        Repository.create(repoDir(), config());
        try (Repository r = Repository.open(repoDir(), false)) {
            assertEquals(CS, r.chunkSize());
            assertEquals(4 << 20, r.blockSize());
            assertTrue(r.points().list().isEmpty());
            assertTrue(Files.isDirectory(repoDir().resolve("packs")));
        }
        assertThrows(RepositoryException.class, () -> Repository.create(repoDir(), config()));
        Path other = Files.createDirectories(dir.resolve("other"));
        Files.writeString(other.resolve("x"), "x");
        RepositoryException e = assertThrows(RepositoryException.class, () -> Repository.openOrCreate(other, config()));
        assertTrue(e.getMessage().contains("not empty"), e.getMessage());
        assertThrows(RepositoryException.class, () -> Repository.open(dir.resolve("nothing"), false));
    }

    @Test
    void aRepositoryOfFormatOneIsRefusedWithAClearMessage() throws IOException {
        Files.createDirectories(repoDir().resolve("blocks"));
        Files.createDirectories(repoDir().resolve("points"));
        Path json = repoDir().resolve("repository.json");
        Files.writeString(json, """
                {"format":"jblksnap-repository","version":1,"blockSize":4194304,
                 "hash":"sha256","compression":"zstd","zstdLevel":3}""");
        for (boolean create : new boolean[] {false, true}) {
            RepositoryException e = assertThrows(RepositoryException.class,
                    () -> (create ? Repository.openOrCreate(repoDir(), config()) : Repository.open(repoDir(), false)).close());
            assertTrue(e.getMessage().startsWith(json + ": this repository was made by an earlier jblksnap (format version 1)")
                    && e.getMessage().endsWith("back up into a new repository"), e.getMessage());
        }
        Files.writeString(json, Files.readString(json).replace("\"version\":1", "\"version\":4"));
        RepositoryException later = assertThrows(RepositoryException.class, () -> Repository.open(repoDir(), false));
        assertTrue(later.getMessage().contains("format version 4 is not supported"), later.getMessage());
        Files.writeString(json, Files.readString(json).replace("\"version\":4", "\"version\":3"));
        RepositoryException unsaid = assertThrows(RepositoryException.class, () -> Repository.open(repoDir(), false));
        assertTrue(unsaid.getMessage().contains("encryption 'null' is not supported in format version 3"),
                unsaid.getMessage());
    }

    @Test
    void chunksAndManifestsAreStoredOnceCompressedTypedAndChecked() throws IOException {
        byte[] text = "a chunk of text that compresses well ".repeat(111).substring(0, CS).getBytes();
        Hash h = Hash.of(text, 0, text.length);
        try (Repository r = openOrCreate()) {
            PackStore packs = r.packs();
            long stored = packs.put(EntryType.CHUNK, h, text, 0, text.length);
            assertTrue(stored > 0 && stored < text.length / 10, "compressed to " + stored);
            assertEquals(0, packs.put(EntryType.CHUNK, h, text, 0, text.length), "the second copy is not stored");
            assertArrayEquals(text, packs.chunk(h, text.length));
            assertFalse(assertThrows(BadEntryException.class, () -> packs.chunk(h, text.length - 1)).missing());
            BadEntryException typed = assertThrows(BadEntryException.class, () -> packs.manifest(h, text.length / 32));
            assertTrue(typed.missing() && typed.getMessage().startsWith("manifest " + h.hex()), typed.getMessage());
            assertTrue(packs.put(EntryType.MANIFEST, h, text, 0, text.length) > 0, "a manifest is not a chunk");
            assertThrows(IllegalArgumentException.class, () -> packs.put(EntryType.CHUNK, Hash.ZERO, text, 0, 1));
            packs.flush();
        }
        try (Repository r = Repository.open(repoDir(), false)) {
            assertArrayEquals(text, r.packs().chunk(h, text.length), "found again through the pack's index");
            assertEquals(text.length / 32, r.packs().manifest(h, text.length / 32).count());
            assertEquals(1, packFiles().size());
        }
    }

    @Test
    void packsAreClosedAtTheirSizeAndIndexEveryEntryInOrder() throws IOException {
        List<Hash> hashes = new ArrayList<>();
        try (Repository r = openOrCreate()) {
            for (int i = 0; i < 100; i++) {
                byte[] b = random(CS, i);
                Hash h = Hash.of(b, 0, CS);
                hashes.add(h);
                r.packs().put(EntryType.CHUNK, h, b, 0, CS);
            }
            assertTrue(packFiles().size() >= 5, "finished packs are renamed as they fill: " + packFiles());
            r.packs().flush();
        }
        List<Path> packs = packFiles();
        assertTrue(packs.stream().noneMatch(AtomicFiles::isTemporary), packs.toString());
        List<Hash> indexed = new ArrayList<>();
        for (Path p : packs) {
            List<PackFile.Entry> entries = Points.readIndex(p);
            assertTrue(Files.size(p) < RepositoryConfig.MIN_PACK_SIZE + 2 * CS, p + " is closed near its size");
            long at = PackFile.HEADER;
            for (PackFile.Entry e : entries) {
                assertEquals(at, e.offset(), "entries lie back to back");
                assertEquals(EntryType.CHUNK, e.type());
                assertEquals(CS, e.rawLength());
                at += e.length();
                indexed.add(e.hash());
            }
        }
        assertEquals(hashes.stream().sorted(java.util.Comparator.comparing(Hash::hex)).toList(),
                indexed.stream().sorted(java.util.Comparator.comparing(Hash::hex)).toList());
        try (Repository r = Repository.open(repoDir(), false)) {
            for (int i = 0; i < 100; i++) {
                assertArrayEquals(random(CS, i), r.packs().chunk(hashes.get(i), CS));
            }
            assertTrue(r.packs().damagedPacks().isEmpty());
        }
    }

    @Test
    void aPackCutShortOrWithACorruptIndexIsLeftOutWithAnErrorNamingIt() throws IOException {
        try (Repository r = openOrCreate()) {
            for (int i = 0; i < 40; i++) {
                byte[] b = random(CS, i);
                r.packs().put(EntryType.CHUNK, Hash.of(b, 0, CS), b, 0, CS);
            }
            r.packs().flush();
        }
        List<Path> packs = packFiles();
        assertTrue(packs.size() >= 3, packs.toString());
        Path cut = packs.get(0);
        Hash lost = Points.readIndex(cut).get(0).hash();
        try (FileChannel ch = FileChannel.open(cut, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 10);
        }
        Path corrupt = packs.get(1);
        try (FileChannel ch = FileChannel.open(corrupt, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            long at = ch.size() - PackFile.FOOTER - 7; // inside the last index record
            ch.read(one, at);
            one.put(0, (byte) (one.get(0) ^ 1)).rewind();
            ch.write(one, at);
        }
        RepositoryException c = assertThrows(RepositoryException.class, () -> Points.readIndex(cut));
        assertEquals("pack " + cut + ": cut short or unfinished: no footer at its end", c.getMessage());
        RepositoryException x = assertThrows(RepositoryException.class, () -> Points.readIndex(corrupt));
        assertEquals("pack " + corrupt + ": index checksum mismatch", x.getMessage());

        // The persistent index still names the corrupt pack's entries (they read back); without it, its own index counts.
        try (Repository r = Repository.open(repoDir(), false)) {
            assertEquals(List.of(cut.toString()), List.copyOf(r.packs().damagedPacks().keySet()));
        }
        try (Stream<Path> index = Files.list(repoDir().resolve("index"))) {
            for (Path p : index.toList()) {
                Files.delete(p);
            }
        }
        try (Repository r = Repository.open(repoDir(), false)) {
            assertEquals(List.of(cut.toString(), corrupt.toString()), List.copyOf(r.packs().damagedPacks().keySet()));
            BadEntryException missing = assertThrows(BadEntryException.class, () -> r.packs().chunk(lost, CS));
            assertTrue(missing.missing() && missing.getMessage().contains("2 damaged packs could not be read: " + cut),
                    missing.getMessage());
            byte[] again = java.util.stream.IntStream.range(0, 40).mapToObj(i -> random(CS, i))
                    .filter(b -> Hash.of(b, 0, CS).equals(lost)).findFirst().orElseThrow();
            assertTrue(r.packs().put(EntryType.CHUNK, lost, again, 0, CS) > 0, "what a damaged pack held is stored again");
            r.packs().flush();
            assertArrayEquals(again, r.packs().chunk(lost, CS));
        }
    }

    @Test
    void pointsRoundTripListedOldestFirst() throws IOException {
        try (Repository r = openOrCreate()) {
            long p1 = Points.commit(r, "vda", device(1));
            long p2 = Points.commit(r, "vdb", random(3 * CS, 2));
            long p3 = Points.commit(r, "vda", device(3));
            assertEquals(List.of(p1, p2, p3), r.points().list().stream().map(Point::id).toList());
            Point p = r.points().latest("vda").orElseThrow();
            assertEquals(p3, p.id());
            assertEquals(device(3).length, p.meta().size());
            assertEquals(CS, p.meta().chunkSize());
            HashList idx = r.points().index(p);
            Geometry g = p.meta().geometry();
            assertEquals(3, idx.count());
            assertTrue(idx.get(1).isZero(), "a block of zeroes has no manifest");
            assertEquals(BLOCK / CS, r.packs().manifest(g, idx, 0).count());
            assertTrue(r.packs().manifest(g, idx, 0).get(BLOCK / CS - 1).isZero(), "a chunk of zeroes is not stored");
            assertEquals(4, r.packs().manifest(g, idx, 2).count(), "the last block's chunks: 3 whole, 1 short");
            assertArrayEquals(device(1), Points.read(r, p1));
            assertArrayEquals(device(3), Points.read(r, p3));
            assertEquals(List.of(p2), r.points().list("vdb").stream().map(Point::id).toList());
            assertThrows(RepositoryException.class, () -> r.points().get(9));
        }
    }

    @Test
    void aDamagedPointFileIsReportedByItsChecksum() throws IOException {
        try (Repository r = openOrCreate()) {
            long id = Points.commit(r, "vda", random(2 * CS, 1));
            Path f = repoDir().resolve(PointStore.name(id));
            byte[] all = Files.readAllBytes(f);
            all[all.length - 40] ^= 1;
            Files.write(f, all);
            RepositoryException e = assertThrows(RepositoryException.class, () -> r.points().index(r.points().get(id)));
            assertTrue(e.getMessage().contains("checksum"), e.getMessage());
        }
    }

    @Test
    void leftoversOfInterruptedWritesAreIgnoredAndRemovedWhenAlone() throws IOException {
        Repository.create(repoDir(), config());
        long id;
        try (Repository r = Repository.open(repoDir(), false)) {
            id = Points.commit(r, "vda", random(2 * CS, 1));
            // what a crash leaves: a point written but never linked, a pack never finished
            Files.write(repoDir().resolve("points").resolve(AtomicFiles.TEMP_PREFIX + "x"),
                    Files.readAllBytes(repoDir().resolve(PointStore.name(id))));
            Path unfinished = Files.createDirectories(repoDir().resolve("packs/ab"))
                    .resolve(AtomicFiles.TEMP_PREFIX + "ab" + "0".repeat(30) + ".pack");
            Files.write(unfinished, Arrays.copyOf(PackFile.header(ObjectCodec.plain(RepositoryConfig.VERSION)).array(), 5000));
            assertEquals(List.of(id), r.points().ids());
            assertEquals(1, r.packs().catalog().packObjects().size(), "an unfinished pack is not a pack");
            try (Repository again = Repository.open(repoDir(), false)) {
                assertEquals(0, again.removedTemporaries(), "not alone: the first holder may be writing them");
            }
            // a run that stores and fails leaves nothing when its handle is closed
            byte[] b = random(CS, 9);
            r.packs().put(EntryType.CHUNK, Hash.of(b, 0, CS), b, 0, CS);
        }
        try (Repository r = Repository.open(repoDir(), false)) {
            assertEquals(2, r.removedTemporaries());
            assertEquals(List.of(id), r.points().ids());
            assertArrayEquals(random(2 * CS, 1), Points.read(r, id));
        }
    }

    @Test
    void pruneNeedsAHandleOpenedForPruneWhichSharedUseAllowsOrAnExclusiveOne() throws IOException {
        try (Repository shared = openOrCreate()) {
            assertThrows(IllegalStateException.class, () -> Pruner.prune(shared, 1));
            assertThrows(RepositoryException.class, () -> Repository.open(repoDir(), true));
            try (Repository prune = Repository.openForPrune(repoDir())) {
                assertEquals(List.of(), Pruner.prune(prune, 1).removedPoints());
            }
        }
        try (Repository ex = Repository.open(repoDir(), true)) {
            assertTrue(ex.exclusive());
            assertThrows(RepositoryException.class, () -> Repository.open(repoDir(), false));
        }
    }

    @Test
    void pruneKeepsTheNewestPointsOfEachDevice() throws IOException {
        List<Long> ids = new ArrayList<>();
        try (Repository r = openOrCreate()) {
            for (int seed = 1; seed <= 5; seed++) {
                ids.add(Points.commit(r, seed == 3 ? "vdb" : "vda", random(2 * CS, seed)));
            }
        }
        try (Repository r = Repository.open(repoDir(), true)) {
            PruneReport rep = Pruner.prune(r, 2);
            assertEquals(ids.subList(0, 2), rep.removedPoints(), "oldest first");
            assertEquals(ids.subList(2, 5), rep.keptPoints());
            assertEquals(ids.subList(2, 5).stream().sorted().toList(), r.points().ids());
            for (int seed = 3; seed <= 5; seed++) {
                assertArrayEquals(random(2 * CS, seed), Points.read(r, ids.get(seed - 1)));
            }
            assertEquals(List.of(), Pruner.prune(r, 2).removedPoints());
        }
    }

    /**
     * The packs of a committed point are on disk and not in the page cache (PackFileOutput): a
     * backup does not push the host's data out of its cache, and the point restores from disk.
     */
    @Test
    void aCommittedPointsPacksAreNotCachedAndReadBackWhole() throws Exception {
        byte[] expected = random(40 * CS + 1024, 9);
        long id;
        try (Repository r = openOrCreate()) {
            id = Points.commit(r, "vda", expected);
        }
        assertTrue(packFiles().size() > 1);
        long cached = 0;
        for (Path pack : packFiles()) {
            cached += PageCache.residentBytes(pack);
        }
        try (PackFileOutput probe = PackFileOutput.create(dir.resolve("probe"))) {
            assumeTrue(probe.isDirect(), "the file system of " + dir + " refuses O_DIRECT");
        }
        assertEquals(0, cached, "bytes of the packs in the page cache");
        try (Repository r = Repository.open(repoDir(), false)) {
            PointImage img = PointImage.open(r, id);
            ByteBuffer b = ByteBuffer.allocate(expected.length);
            img.read(0, b);
            assertArrayEquals(expected, b.array());
        }
    }

    @Test
    void aPointReadsAsADevice() throws IOException {
        byte[] expected = device(7);
        try (Repository r = openOrCreate()) {
            long id = Points.commit(r, "vda", expected);
            PointImage img = PointImage.open(r, id);
            assertEquals(expected.length, img.capacity());
            assertTrue(img.isReadOnly());
            for (long off : new long[] {0, 512, CS - 512, BLOCK - 1024, 2L * BLOCK - 512, expected.length - 3 * CS}) {
                ByteBuffer b = ByteBuffer.allocate((int) Math.min(3 * CS + 1024, expected.length - off));
                img.read(off, b);
                assertEquals(b.capacity(), b.position());
                assertArrayEquals(Arrays.copyOfRange(expected, (int) off, (int) off + b.capacity()), b.array());
            }
            assertThrows(IOException.class, () -> img.write(0, ByteBuffer.allocate(512)));
            assertThrows(RuntimeException.class, () -> img.read(expected.length - 512, ByteBuffer.allocate(1024)));
        }
    }

    @Test
    void entriesFoundInPacksOfAnotherHandleMakeTheirDirectoriesSyncedAtCommit() throws IOException {
        List<byte[]> chunks = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            chunks.add(random(CS, 100 + i));
        }
        try (Repository killed = openOrCreate()) { // stores and finishes packs, never commits
            for (byte[] c : chunks) {
                killed.packs().put(EntryType.CHUNK, Hash.of(c, 0, CS), c, 0, CS);
            }
        }
        List<Path> finished = packFiles();
        assertTrue(finished.size() >= 2, "packs were finished: " + finished);
        try (Repository next = openOrCreate()) {
            for (byte[] c : chunks) {
                assertEquals(0, next.packs().put(EntryType.CHUNK, Hash.of(c, 0, CS), c, 0, CS), "found stored");
            }
            Set<Path> toSync = ((DirectoryStore) next.store()).unsyncedDirectories();
            for (Path p : finished) {
                assertTrue(toSync.contains(p.getParent()), p.getParent() + " is synced before a point relies on it");
            }
            assertTrue(toSync.contains(repoDir().resolve("packs")), "and packs/ for new directories");
        }
    }

    @Test
    void readsOfEntriesInAPackBeingFinishedDoNotFail() throws Exception {
        Repository.create(repoDir(), config());
        try (Repository repo = Repository.open(repoDir(), false)) {
            PackStore store = repo.packs();
            AtomicReference<byte[]> latest = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                long first = w * 1_000_000_000L;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (long seed = first; !stop.get(); seed++) {
                            byte[] d = random(CS, seed);
                            store.put(EntryType.CHUNK, Hash.of(d, 0, CS), d, 0, CS);
                            latest.set(d);
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            for (int r = 0; r < 2; r++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        while (!stop.get()) {
                            byte[] d = latest.get();
                            if (d != null) {
                                assertArrayEquals(d, store.chunk(Hash.of(d, 0, CS), CS));
                            }
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            long end = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < end && failures.isEmpty()) {
                Thread.sleep(20);
            }
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            assertTrue(packFiles().size() > 2, "packs were finished while read");
            assertNull(failures.peek(), () -> "a read failed: " + failures.peek());
        }
    }

    @Test
    void theSameRepositoryThroughASymbolicLinkIsTheSameLock() throws IOException {
        Path alias = Files.createSymbolicLink(dir.resolve("alias"), repoDir().getFileName());
        try (Repository shared = openOrCreate()) {
            RepositoryException e = assertThrows(RepositoryException.class, () -> Repository.open(alias, true));
            assertTrue(e.getMessage().contains("is in use by this process"), e.getMessage());
            try (Repository again = Repository.open(alias, false)) {
                assertEquals(shared.chunkSize(), again.chunkSize());
            }
        }
        try (Repository alone = Repository.open(alias, true)) {
            assertTrue(alone.exclusive());
        }
    }
}
