package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

import org.jblksnap.image.SnapshotImage;
import org.jblksnap.testutil.SectorPattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** qemu-io writes and pattern reads, synchronous and asynchronous, on the device and an image. */
class QemuIoTest {
    private static final long SIZE = 32L << 20;
    private static final String[] COMMANDS = {
        "-c", "write -P 0x5a 1M 256k",
        "-c", "aio_write -P 0x3c 2M 64k",
        "-c", "aio_write -P 0x3d 2112k 64k",
        "-c", "aio_flush",
        "-c", "write -z 3M 128k",
        "-c", "write -P 0x11 -f 4M 4k",
        "-c", "read -P 0x5a 1M 256k",
        "-c", "read -P 0x3c 2M 64k",
        "-c", "read -P 0x3d 2112k 64k",
        "-c", "read -P 0 3M 128k",
        "-c", "read -P 0x11 4M 4k",
        "-c", "flush",
    };

    @TempDir
    Path dir;

    @BeforeAll
    static void tools() {
        Tools.require("qemu-io");
    }

    private void qemuIo(String uri) throws Exception {
        String[] cmd = new String[4 + COMMANDS.length];
        cmd[0] = "qemu-io";
        cmd[1] = "-f";
        cmd[2] = "raw";
        System.arraycopy(COMMANDS, 0, cmd, 3, COMMANDS.length);
        cmd[cmd.length - 1] = uri;
        String out = Tools.ok(dir, 120, cmd);
        assertFalse(out.contains("Pattern verification failed"), out);
        assertFalse(out.contains("error"), out);
        assertTrue(out.contains("read 4096/4096 bytes at offset 4194304"), out);
    }

    private static void assertFilled(ByteBuffer b, int value) {
        byte[] expected = new byte[b.remaining()];
        Arrays.fill(expected, (byte) value);
        byte[] got = new byte[b.remaining()];
        b.get(got);
        assertArrayEquals(expected, got);
    }

    @Test
    void writesAndPatternReadsOnTheDevice() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            f.fillDevice(1);
            qemuIo(f.uri(NbdFixture.DEVICE));
            ByteBuffer b = ByteBuffer.allocate(256 << 10);
            f.tracker.read(1 << 20, b);
            assertFilled(b.flip(), 0x5a);
            b.clear().limit(128 << 10);
            f.tracker.read(3 << 20, b);
            assertFilled(b.flip(), 0);
            // Untouched sectors keep the base pattern.
            ByteBuffer rest = ByteBuffer.allocate(1 << 20);
            f.tracker.read(5 << 20, rest);
            for (int i = 0; i < rest.capacity() / 512; i++) {
                SectorPattern.expect(rest, i, (5 << 20) / 512 + i, NbdFixture.BASE_WRITER, 1);
            }
        }
    }

    @Test
    void writesAndPatternReadsOnAnImageWhileTheDeviceIsWritten() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            f.fillDevice(1);
            String name = f.takeSnapshot();
            try (NbdFixture.DeviceWriter w = f.startDeviceWriter()) {
                qemuIo(f.uri(name));
                assertTrue(w.writes() > 0);
            }
            SnapshotImage image = f.engine.image(NbdFixture.DEVICE);
            ByteBuffer b = ByteBuffer.allocate(64 << 10);
            image.read(2 << 20, b);
            assertFilled(b.flip(), 0x3c);
            ByteBuffer rest = ByteBuffer.allocate(1 << 20);
            image.read(6 << 20, rest);
            for (int i = 0; i < rest.capacity() / 512; i++) {
                SectorPattern.expect(rest, i, (6 << 20) / 512 + i, NbdFixture.BASE_WRITER, 1);
            }
            f.assertDeviceHasOnlyBaseAndLaterWrites();
        }
    }
}
