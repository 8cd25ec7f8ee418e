package org.jblksnap.nbd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import org.jblksnap.backup.ServerProcess;
import org.jblksnap.daemon.JblksnapProcess;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.TestCertificates;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NBD client with TLS against a TLS-only qemu-nbd (x509 credentials, client certificates
 * verified): nbds:// and nbds+unix:// URIs read the image, a backup from such a URI restores
 * byte for byte, a plain client is refused, and a server of another CA is not trusted.
 */
@Timeout(300)
class NbdClientTlsTest {
    private static final int SIZE = 4 << 20;

    @TempDir
    static Path certs;
    static Path serverDir;
    static Path clientDir;
    static Path otherServerDir;

    @TempDir
    Path dir;

    @BeforeAll
    static void credentials() throws Exception {
        ChildProcess.assumeInstalled("certtool", "qemu-nbd");
        TestCertificates ca = TestCertificates.authority(certs, "ca");
        serverDir = ca.server("server");
        clientDir = ca.client("client");
        otherServerDir = TestCertificates.authority(certs, "other").server("other-server");
    }

    private Path image() throws Exception {
        byte[] b = new byte[SIZE];
        new Random(11).nextBytes(b);
        java.util.Arrays.fill(b, 1 << 20, 2 << 20, (byte) 0);
        return Files.write(dir.resolve("disk.img"), b);
    }

    private static String[] tlsServer(Path creds) {
        return new String[] {"--object", "tls-creds-x509,id=tls0,dir=" + creds + ",endpoint=server,verify-peer=on",
                "--tls-creds", "tls0"};
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static byte[] readAll(NbdUri uri) throws Exception {
        try (NbdClient c = NbdClient.connect(uri.address(), uri.export(), List.of(Nbd.CONTEXT_BASE_ALLOCATION))) {
            ByteBuffer b = ByteBuffer.allocate((int) c.size());
            c.readFully(0, b);
            return b.array();
        }
    }

    @Test
    void readsATlsOnlyQemuNbdOverTcpAndUnix() throws Exception {
        Path image = image();
        byte[] expected = Files.readAllBytes(image);
        int port = freePort();
        try (ServerProcess tcp = ServerProcess.qemuNbdTcp(dir, port, image, "raw", tlsServer(serverDir));
                ServerProcess unix = ServerProcess.qemuNbd(dir, image, "raw", tlsServer(serverDir))) {
            NbdUri overTcp = NbdUri.parse("nbds://127.0.0.1:" + port + "/?tls-certificates=" + clientDir);
            assertTrue(java.util.Arrays.equals(expected, readAll(overTcp)), "nbds:// reads the image");
            NbdAddress.Unix u = (NbdAddress.Unix) unix.address();
            NbdUri overUnix = NbdUri.parse("nbds+unix:///?socket=" + u.socket() + "&tls-certificates=" + clientDir);
            assertTrue(java.util.Arrays.equals(expected, readAll(overUnix)), "nbds+unix:// reads the image");

            NbdException plain = assertThrows(NbdException.class,
                    () -> readAll(NbdUri.parse("nbd://127.0.0.1:" + port + "/")));
            assertTrue(plain.getMessage().contains("TLS"), plain.getMessage());
        }
    }

    @Test
    void aServerOfAnotherCaIsNotTrusted() throws Exception {
        int port = freePort();
        try (ServerProcess other = ServerProcess.qemuNbdTcp(dir, port, image(), "raw", tlsServer(otherServerDir))) {
            NbdException e = assertThrows(NbdException.class,
                    () -> readAll(NbdUri.parse("nbds://127.0.0.1:" + port + "/?tls-certificates=" + clientDir)));
            assertTrue(e.getMessage().contains("TLS handshake"), e.getMessage());
        }
    }

    @Test
    void backupFromAnNbdsSourceRestoresByteForByte() throws Exception {
        Path image = image();
        int port = freePort();
        Path repo = dir.resolve("repo");
        JblksnapProcess jb = new JblksnapProcess(dir.resolve("run"));
        try (ServerProcess tcp = ServerProcess.qemuNbdTcp(dir, port, image, "raw", tlsServer(serverDir))) {
            jb.okAlone("backup", "--encryption", "none", "-d", "vm1", "--repo", repo.toString(), "--source",
                    "nbds://127.0.0.1:" + port + "/?tls-certificates=" + clientDir);
        }
        Path out = dir.resolve("restored.img");
        jb.okAlone("restore", "--repo", repo.toString(), "--point", "latest", "-d", "vm1", "--to", out.toString());
        assertEquals(-1, Files.mismatch(image, out));
    }

    @Test
    void uris() {
        NbdUri u = NbdUri.parse("nbd://example.org/disk%201");
        assertEquals(new NbdAddress.Tcp("example.org", 10809), u.address());
        assertEquals("disk 1", u.export());
        assertEquals(new NbdAddress.Unix(Path.of("/run/a+b.sock")),
                NbdUri.parse("nbd+unix:///x?socket=/run/a+b.sock").address());
        assertEquals(new NbdAddress.Tcp("::1", 10810), NbdUri.parse("nbd://[::1]:10810/").address());
        NbdUri t = NbdUri.parse("nbds://127.0.0.1:10809/e?tls-certificates=" + clientDir);
        assertTrue(t.address().tls() != null);
        assertThrows(InvalidArgumentException.class, () -> NbdUri.parse("nbds://127.0.0.1/e"));
        assertThrows(InvalidArgumentException.class, () -> NbdUri.parse("nbd://h/e?tls-certificates=/x"));
        assertThrows(InvalidArgumentException.class, () -> NbdUri.parse("http://h/e"));
        assertThrows(InvalidArgumentException.class, () -> NbdUri.parse("nbd+unix:///e"));
        assertThrows(InvalidArgumentException.class,
                () -> NbdUri.parse("nbds://127.0.0.1/e?tls-certificates=" + serverDir), "server credentials");
    }
}
