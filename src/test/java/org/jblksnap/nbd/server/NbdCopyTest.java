package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.jblksnap.testutil.SectorPattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** nbdcopy with several connections, between files and the device or a snapshot image. */
class NbdCopyTest {
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void tools() {
        Tools.require("nbdcopy", "cmp");
    }

    /** A file of the base pattern with another sequence number. */
    static Path patternFile(Path file, long size, long seq) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1 << 20);
            for (long off = 0; off < size; off += b.capacity()) {
                b.clear();
                SectorPattern.fill(b, off / 512, b.capacity() / 512, NbdFixture.BASE_WRITER, seq);
                ch.write(b, off);
            }
        }
        return file;
    }

    @Test
    void deviceToFileAndFileToDevice() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            f.fillDevice(1);
            Path out = dir.resolve("out.img");
            Tools.ok(dir, 120, "nbdcopy", "--connections=4", "--requests=16", f.uri(NbdFixture.DEVICE), out.toString());
            NbdFixture.assertBasePattern(out, 1);
            Tools.ok(dir, 60, "cmp", out.toString(), f.deviceFile.toString());

            Path src = patternFile(dir.resolve("src.img"), SIZE, 2);
            Tools.ok(dir, 120, "nbdcopy", "--connections=4", "--flush", src.toString(), f.uri(NbdFixture.DEVICE));
            Tools.ok(dir, 60, "cmp", src.toString(), f.deviceFile.toString());
        }
    }

    @Test
    void imageWhileTheDeviceIsWritten() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            f.fillDevice(1);
            String image = f.takeSnapshot();
            Path out = dir.resolve("image.img");
            Path src = patternFile(dir.resolve("src.img"), SIZE, 3);
            Path back = dir.resolve("back.img");
            try (NbdFixture.DeviceWriter w = f.startDeviceWriter()) {
                Tools.ok(dir, 120, "nbdcopy", "--connections=4", f.uri(image), out.toString());
                NbdFixture.assertBasePattern(out, 1);
                // Images are writable: a whole new content goes in and comes back.
                Tools.ok(dir, 120, "nbdcopy", "--connections=4", src.toString(), f.uri(image));
                Tools.ok(dir, 120, "nbdcopy", "--connections=4", f.uri(image), back.toString());
                Tools.ok(dir, 60, "cmp", src.toString(), back.toString());
                assertTrue(w.writes() > 0, "the device was written meanwhile");
            }
            f.assertDeviceHasOnlyBaseAndLaterWrites();
        }
    }
}
