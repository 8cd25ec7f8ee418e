package org.jblksnap.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.PathException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A device's failures carry the errno every front end reports. */
class DeviceErrnoTest {
    @TempDir
    Path dir;

    @Test
    void aFullFileSystemIsEnospc() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "mounting a small tmpfs needs root");
        Path mnt = Files.createDirectory(dir.resolve("small"));
        run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt.toString());
        try {
            Path file = mnt.resolve("disk.img");
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                f.setLength(4 << 20); // sparse: bigger than the file system
            }
            try (BlockDevice d = BlockDevice.open(file)) {
                EngineIOException full = assertThrows(EngineIOException.class,
                        () -> d.write(0, ByteBuffer.allocateDirect(4 << 20)));
                assertEquals(Errno.ENOSPC, full.errno(), full.getMessage());
            }
        } finally {
            run("umount", "-l", mnt.toString());
        }
    }

    @Test
    void ioAfterCloseIsEnodevAndAReadOnlyWriteErofs() throws Exception {
        Path file = dir.resolve("d.img");
        Files.write(file, new byte[8192]);
        try (BlockDevice ro = BlockDevice.open(file, true)) {
            assertEquals(Errno.EROFS, assertThrows(EngineIOException.class, () -> ro.write(0, ByteBuffer.allocate(512))).errno());
        }
        BlockDevice d = BlockDevice.open(file);
        d.close();
        assertEquals(Errno.ENODEV, assertThrows(EngineIOException.class, () -> d.read(0, ByteBuffer.allocate(512))).errno());
        assertEquals(Errno.ENODEV, assertThrows(EngineIOException.class, () -> d.write(0, ByteBuffer.allocate(512))).errno());
        assertEquals(Errno.ENODEV, assertThrows(EngineIOException.class, d::flush).errno());
    }

    @Test
    void aMissingPathIsEnoent() {
        assertEquals(Errno.ENOENT, assertThrows(PathException.class, () -> BlockDevice.open(dir.resolve("none"))).errno());
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + ": " + out);
        }
    }
}
