package org.jblksnap.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;

import org.jblksnap.repo.HashList;
import org.jblksnap.repo.Point;
import org.jblksnap.repo.PointMeta;
import org.jblksnap.repo.PointStore;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device's points are ordered by their time, and the newest is the next incremental's
 * parent. A point dated ahead of the clock (a host whose clock was fast, an NTP step back)
 * must not stay "the newest" after later runs: an incremental by the operator's bitmap (what
 * changed since the last run) on top of it would record an image that never was, losing the
 * runs in between. Each run dates its point after the device's last one.
 */
@Timeout(300)
class ClockSetBackTest {
    private static final int MIB = 1 << 20;
    private static final int SIZE = 32 * MIB;
    private static final int CS = 256 << 10;

    @TempDir
    Path dir;

    private final ByteArrayOutputStream notes = new ByteArrayOutputStream();
    private final Progress progress = Progress.quiet(new PrintStream(notes, true, StandardCharsets.UTF_8));

    private Path repoDir() {
        return dir.resolve("repo");
    }

    private BackupSummary backup(QemuImage img, String bitmap) throws Exception {
        String[] served = bitmap == null ? new String[0] : new String[] {bitmap};
        try (ServerProcess s = img.serve(served);
                Repository repo = Repository.openOrCreate(repoDir(), RepositoryConfig.of(CS, MIB))) {
            BackupRequest r = new BackupRequest("vm0", s.address(), "", null,
                    bitmap == null ? null : "qemu:dirty-bitmap:" + bitmap, false);
            return new BackupRunner(repo, progress, 4, 2).run(r);
        }
    }

    @Test
    void anIncrementalByTheOperatorsBitmapTakesTheLastRunAsItsParent() throws Exception {
        QemuImage img = new QemuImage(dir, SIZE);
        img.write(img.randomWrites(new Random(1), 10, MIB));

        // run 1 on a host whose clock is an hour ahead: its point dated an hour later
        long run1 = backup(img, null).pointId();
        long future;
        try (Repository repo = Repository.open(repoDir(), false)) {
            Point p = repo.points().get(run1);
            HashList index = repo.points().index(p);
            PointMeta m = p.meta();
            future = repo.commit(new PointMeta(m.device(), m.size(), m.blockSize(), m.chunkSize(),
                    m.created().plus(Duration.ofHours(1)), m.generation(), m.changesNumber(), m.parent(), m.source(),
                    m.stats()), index);
        }
        Files.delete(repoDir().resolve(PointStore.name(run1)));
        img.addBitmap("b1");

        img.write(List.of(new QemuImage.Write(2L * MIB, 64 << 10, 0x11)));
        BackupSummary run2 = backup(img, "b1");
        assertEquals(future, run2.parent());
        assertTrue(notes.toString().contains("is dated just after it"), notes.toString());
        img.removeBitmap("b1");
        img.addBitmap("b2"); // rotated after the backup, as README says

        img.write(List.of(new QemuImage.Write(10L * MIB, 64 << 10, 0x22)));
        Path ref = img.snapshotRaw("ref3.raw");
        BackupSummary run3 = backup(img, "b2");
        assertEquals(run2.pointId(), run3.parent(), "the parent of run 3 is the last run, run 2");

        Path out = dir.resolve("restored3.raw");
        try (Repository repo = Repository.open(repoDir(), false)) {
            new Restorer(repo, progress, 2).restore(run3.pointId(), out);
            assertEquals(run3.pointId(), repo.points().latest("vm0").orElseThrow().id());
        }
        assertEquals(-1, Files.mismatch(ref, out), "run 3 restores to the image at its time");
    }
}
