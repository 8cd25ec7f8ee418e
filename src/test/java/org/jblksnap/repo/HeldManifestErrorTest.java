package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two backups share one handle (the daemon's devices, a copy's workers). A's manifest is held;
 * B's manifests fill a run, and appending the run fails with an Error (out of memory while an
 * object store's writer takes the bytes: {@code S3Store}'s writer allocates a 4 MiB part). The
 * run's manifests, A's among them, were dropped, and the handle was not broken: A's commit
 * then succeeded and named a manifest that is in no pack.
 */
@Timeout(60)
class HeldManifestErrorTest {
    private static final int CS = 4096;

    @TempDir
    Path dir;

    @Test
    void anErrorAppendingHeldManifestsLetsNoPointCommitWithoutThem() throws IOException {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 64 << 20));
        AtomicBoolean armed = new AtomicBoolean();
        AtomicBoolean fired = new AtomicBoolean();
        ObjectStore store = Delegating.proxy(ObjectStore.class, new DirectoryStore(dir), (self, m, args, through) -> {
            Object r = through.call();
            if (!m.getName().equals("writer")) {
                return r;
            }
            return Delegating.proxy(ObjectStore.Writer.class, (ObjectStore.Writer) r, (w, wm, wargs, write) -> {
                if (wm.getName().equals("write") && armed.compareAndSet(true, false)) {
                    fired.set(true);
                    throw new OutOfMemoryError("Java heap space (thrown by the test)");
                }
                return write.call();
            });
        });
        byte[] content = Points.random(2 * CS, 3);
        try (Repository r = Repository.open(store, false)) {
            PackStore packs = r.packs();
            // backup A: its chunks (the pack is opened), then its one manifest, held
            HashList manifestA = new HashList(2);
            for (int c = 0; c < 2; c++) {
                Hash h = packs.id(content, c * CS, CS);
                packs.put(EntryType.CHUNK, h, content, c * CS, CS);
                manifestA.set(c, h);
            }
            Hash a = packs.id(manifestA);
            assertTrue(packs.putManifest(a, manifestA) > 0, "A's manifest is taken (held)");
            HashList indexA = new HashList(1);
            indexA.set(0, a);

            // backup B: manifests until a run is appended; that append runs out of memory
            armed.set(true);
            Random rnd = new Random(4);
            int chunks = RepositoryConfig.BLOCK_SIZE / CS;
            Throwable e = null;
            for (int i = 0; i < 2 * PackAppender.MANIFEST_RUN / (chunks * Hash.BYTES) && e == null; i++) {
                HashList m = new HashList(chunks);
                for (int c = 0; c < chunks; c++) {
                    m.set(c, new Hash(rnd.nextLong(), rnd.nextLong(), rnd.nextLong(), rnd.nextLong() | 1));
                }
                try {
                    packs.putManifest(packs.id(m), m);
                } catch (OutOfMemoryError | IOException failed) {
                    e = failed; // backup B fails (its worker catches any Throwable)
                }
            }
            assertTrue(fired.get(), "the run's append ran out of memory");

            // backup A commits: it must fail, or its point must read back
            long id;
            try {
                id = r.commit(new PointMeta("vda", content.length, r.blockSize(), r.chunkSize(),
                        Instant.parse("2025-01-02T03:04:05Z"), null, null, null, "test", null), indexA);
            } catch (IOException refused) {
                return; // the handle knows its held manifests were lost: nothing names them
            }
            assertTrue(packs.contains(EntryType.MANIFEST, a),
                    "point " + id + " was committed naming manifest " + a.hex() + ", which is in no pack");
            assertArrayEquals(content, Points.read(r, id));
        }
    }
}
