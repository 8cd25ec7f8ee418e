package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A socket path names a socket: anything else there is refused and left as it was. */
class SocketPathTest {
    @TempDir
    Path dir;

    @Test
    void aFileAtTheSocketPathIsRefusedAndKept() throws Exception {
        Path image = Files.write(dir.resolve("disk0.img"), new byte[] {1, 2, 3, 4});
        Path directory = Files.createDirectory(dir.resolve("empty"));
        try (NbdServer server = new NbdServer()) {
            IOException e = assertThrows(IOException.class, () -> server.listenUnix(image));
            assertTrue(e.getMessage().contains("not a socket"), e.getMessage());
            assertThrows(IOException.class, () -> server.listenUnix(directory));
        }
        assertArrayEquals(new byte[] {1, 2, 3, 4}, Files.readAllBytes(image));
        assertTrue(Files.isDirectory(directory));
    }

    @Test
    void aStaleSocketIsReplaced() throws Exception {
        Path socket = dir.resolve("nbd.sock");
        ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        old.bind(UnixDomainSocketAddress.of(socket));
        old.close(); // the file stays: a server that died
        assertTrue(Files.exists(socket));
        try (NbdServer server = new NbdServer()) {
            server.listenUnix(socket);
            try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                assertTrue(c.isConnected());
            }
        }
    }
}
