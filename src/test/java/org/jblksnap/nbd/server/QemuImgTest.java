package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** qemu-img convert and compare against the device and a snapshot image. */
class QemuImgTest {
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void tools() {
        Tools.require("qemu-img");
    }

    @Test
    void convertAndCompareWithTheDevice() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            f.fillDevice(1);
            Path out = dir.resolve("out.img");
            Tools.ok(dir, 120, "qemu-img", "convert", "-f", "raw", "-O", "raw", f.uri(NbdFixture.DEVICE), out.toString());
            NbdFixture.assertBasePattern(out, 1);
            String same = Tools.ok(dir, 120, "qemu-img", "compare", "-f", "raw", "-F", "raw", out.toString(),
                    f.uri(NbdFixture.DEVICE));
            assertTrue(same.contains("identical"), same);

            Path src = NbdCopyTest.patternFile(dir.resolve("src.img"), SIZE, 2);
            Tools.ok(dir, 120, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src.toString(), f.uri(NbdFixture.DEVICE));
            Tools.ok(dir, 120, "qemu-img", "compare", "-f", "raw", "-F", "raw", src.toString(), f.uri(NbdFixture.DEVICE));
            NbdFixture.assertSameContent(src, f.deviceFile);

            // A different image must be reported as different.
            Tools.Result diff = Tools.run(dir, 120, "qemu-img", "compare", "-f", "raw", "-F", "raw", out.toString(),
                    f.uri(NbdFixture.DEVICE));
            assertTrue(diff.exit() == 1, diff.all());
        }
    }

    @Test
    void convertAnImageWhileTheDeviceIsWritten() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            f.fillDevice(1);
            String image = f.takeSnapshot();
            Path out = dir.resolve("image.img");
            try (NbdFixture.DeviceWriter w = f.startDeviceWriter()) {
                Tools.ok(dir, 120, "qemu-img", "convert", "-f", "raw", "-O", "raw", f.uri(image), out.toString());
                NbdFixture.assertBasePattern(out, 1);
                Tools.ok(dir, 120, "qemu-img", "compare", "-f", "raw", "-F", "raw", out.toString(), f.uri(image));
                Path src = NbdCopyTest.patternFile(dir.resolve("src.img"), SIZE, 4);
                Tools.ok(dir, 120, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src.toString(), f.uri(image));
                Tools.ok(dir, 120, "qemu-img", "compare", "-f", "raw", "-F", "raw", src.toString(), f.uri(image));
                assertTrue(w.writes() > 0);
            }
            f.assertDeviceHasOnlyBaseAndLaterWrites();
        }
    }
}
