package org.jblksnap.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnixSocketFileTest {
    @TempDir
    Path dir;

    /**
     * A client that connects the moment the file appears is never refused: the file appears
     * only once the socket listens. (FloodTest and the daemon's users wait for the file; with
     * bind then listen at the final path, some of these connects got ECONNREFUSED.)
     */
    @Test
    void theFileAppearsOnlyOnceTheSocketAccepts() throws Exception {
        for (int round = 0; round < 300; round++) {
            Path socket = dir.resolve("s" + round + ".sock");
            AtomicReference<Throwable> refused = new AtomicReference<>();
            AtomicInteger connected = new AtomicInteger();
            Thread client = Thread.ofPlatform().start(() -> {
                while (!Files.exists(socket)) {
                    Thread.onSpinWait();
                }
                try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                    connected.incrementAndGet();
                } catch (IOException e) {
                    refused.set(e);
                }
            });
            try (ServerSocketChannel server = UnixSocketFile.listen(socket, "test socket", null)) {
                client.join(10_000);
            }
            assertEquals(null, refused.get(), "round " + round + ": a client that saw the file was refused");
            assertEquals(1, connected.get());
        }
    }

    @Test
    void aFileThatIsNotASocketIsRefusedAndLeftAsItIs() throws Exception {
        Path image = dir.resolve("disk.img");
        byte[] data = {1, 2, 3};
        Files.write(image, data);
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> UnixSocketFile.listen(image, "NBD socket", null));
        assertTrue(e.getMessage().contains("is not a socket"), e.getMessage());
        assertArrayEquals(data, Files.readAllBytes(image));
    }

    @Test
    void aLiveSocketIsRefusedAndAStaleOneReplaced() throws Exception {
        Path socket = dir.resolve("nbd.sock");
        try (ServerSocketChannel first = UnixSocketFile.listen(socket, "NBD socket", null)) {
            IOException e = assertThrows(IOException.class, () -> UnixSocketFile.listen(socket, "NBD socket", null));
            assertTrue(e.getMessage().contains("in use by another server"), e.getMessage());
        }
        // The first is closed but its file stays, as after a crash: the next one replaces it.
        ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        Files.delete(socket);
        stale.bind(UnixDomainSocketAddress.of(socket));
        stale.close();
        assertTrue(Files.exists(socket));
        try (ServerSocketChannel second = UnixSocketFile.listen(socket, "NBD socket", PosixFilePermissions.fromString("rw-------"));
                SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(socket));
            assertEquals(1, Files.list(dir).count(), "no hidden file left beside the socket");
        }
    }
}
