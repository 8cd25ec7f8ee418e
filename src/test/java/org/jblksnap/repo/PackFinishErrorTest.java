package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pack whose finishing fails with an Error (out of memory while its last part is uploaded)
 * is not stored, so the point that uses it must not commit. Packs are finished on a thread of
 * their own; an Error there used to end that thread without marking the handle broken, and
 * the point was committed naming chunks in a pack that was never written.
 */
@Timeout(60)
class PackFinishErrorTest {
    private static final int CS = 4096;

    @TempDir
    Path dir;

    @Test
    void anErrorFinishingAPackFailsTheCommitAndTheNextHandleStoresThePoint() throws Exception {
        Repository.create(new DirectoryStore(dir), RepositoryConfig.of(CS, 64 << 10));
        byte[] content = Points.random(256 * CS, 9); // 1 MiB: packs of 64 KiB fill and finish as it goes
        AtomicBoolean failed = new AtomicBoolean();
        ObjectStore store = Delegating.proxy(ObjectStore.class, new DirectoryStore(dir), (self, m, args, through) -> {
            Object r = through.call();
            if (!m.getName().equals("writer")) {
                return r;
            }
            return Delegating.proxy(ObjectStore.Writer.class, (ObjectStore.Writer) r, (w, wm, wargs, write) -> {
                if (wm.getName().equals("finish") && failed.compareAndSet(false, true)) {
                    throw new OutOfMemoryError("Java heap space (thrown by the test)");
                }
                return write.call();
            });
        });
        try (Repository r = Repository.open(store, false)) {
            IOException e = assertThrows(IOException.class, () -> Points.commit(r, "vda", content));
            assertTrue(failed.get());
            assertTrue(e.getMessage().contains("Java heap space"), e.getMessage());
        }
        try (Repository r = Repository.open(dir, false)) {
            assertEquals(List.of(), r.points().ids(), "nothing committed");
            long id = Points.commit(r, "vda", content);
            assertArrayEquals(content, Points.read(r, id));
        }
    }
}
