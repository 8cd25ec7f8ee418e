package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import org.jblksnap.nbd.protocol.Nbd;
import org.jblksnap.nbd.tls.TlsCredentials;
import org.jblksnap.testutil.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TCP listener with TLS credentials, against the real clients: nbdinfo, nbdcopy (libnbd)
 * and qemu-img (gnutls, a tls-creds-x509 object) with certificates of the server's CA work;
 * a plain client, a client with a certificate of another CA or none, and a client that sends
 * garbage after STARTTLS get nothing, and the server serves the next client.
 */
class TlsServerTest {
    private static final long SIZE = 8L << 20;

    @TempDir
    static Path certs;
    static Path serverDir;
    static Path clientDir;
    /** Our CA, but a client certificate of another CA. */
    static Path foreignClientDir;
    /** Our CA and no client certificate at all. */
    static Path anonymousDir;

    @TempDir
    Path dir;
    NbdFixture f;
    int port;

    @BeforeAll
    static void credentials() throws Exception {
        Tools.require("certtool", "nbdinfo", "nbdcopy", "qemu-img", "cmp");
        TestCertificates ca = TestCertificates.authority(certs, "ca");
        serverDir = ca.server("server");
        clientDir = ca.client("client");
        Path other = TestCertificates.authority(certs, "other").client("other-client");
        foreignClientDir = Files.createDirectories(certs.resolve("foreign"));
        Files.copy(clientDir.resolve("ca-cert.pem"), foreignClientDir.resolve("ca-cert.pem"));
        Files.copy(other.resolve("client-cert.pem"), foreignClientDir.resolve("client-cert.pem"));
        Files.copy(other.resolve("client-key.pem"), foreignClientDir.resolve("client-key.pem"));
        anonymousDir = Files.createDirectories(certs.resolve("anonymous"));
        Files.copy(clientDir.resolve("ca-cert.pem"), anonymousDir.resolve("ca-cert.pem"));
    }

    @BeforeEach
    void server() throws Exception {
        f = new NbdFixture(dir, SIZE);
        f.fillDevice(1);
        port = f.server.listenTcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                TlsCredentials.load(serverDir, TlsCredentials.Role.SERVER)).getPort();
    }

    @AfterEach
    void stop() throws Exception {
        f.close();
    }

    private String uri(Path credentials) {
        return "nbds://127.0.0.1:" + port + "/" + NbdFixture.DEVICE + "?tls-certificates=" + credentials;
    }

    @Test
    void nbdinfoAndNbdcopyReadAndWriteOverTls() throws Exception {
        String info = Tools.ok(dir, 60, "nbdinfo", uri(clientDir));
        assertTrue(info.contains("export-size: " + SIZE), info);

        Path out = dir.resolve("out.img");
        Tools.ok(dir, 120, "nbdcopy", "--connections=2", uri(clientDir), out.toString());
        NbdFixture.assertBasePattern(out, 1);

        Path src = NbdCopyTest.patternFile(dir.resolve("src.img"), SIZE, 2);
        Tools.ok(dir, 120, "nbdcopy", "--connections=2", "--flush", src.toString(), uri(clientDir));
        Tools.ok(dir, 60, "cmp", src.toString(), f.deviceFile.toString());
    }

    @Test
    void qemuImgWithATlsCredsObject() throws Exception {
        Path out = dir.resolve("qemu.img");
        Tools.ok(dir, 120, "qemu-img", "convert", "-O", "raw",
                "--object", "tls-creds-x509,id=tls0,dir=" + clientDir + ",endpoint=client",
                "--image-opts", "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=" + port
                        + ",export=" + NbdFixture.DEVICE + ",tls-creds=tls0",
                out.toString());
        Tools.ok(dir, 60, "cmp", out.toString(), f.deviceFile.toString());
    }

    @Test
    void aPlainClientGetsTlsRequiredAndNoData() throws Exception {
        try (RawClient c = new RawClient(new InetSocketAddress("127.0.0.1", port))) {
            c.greet(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
            c.option(Nbd.OPT_LIST, new byte[0]);
            assertEquals(Nbd.REP_ERR_TLS_REQD, c.optionReply().type());
            c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
            assertEquals(Nbd.REP_ERR_TLS_REQD, c.optionReply().type());
            c.option(Nbd.OPT_GO, RawClient.infoData(NbdFixture.DEVICE));
            RawClient.OptionReply go = c.optionReply();
            assertEquals(Nbd.REP_ERR_TLS_REQD, go.type(), go.text());
            c.option(Nbd.OPT_INFO, RawClient.infoData(NbdFixture.DEVICE));
            assertEquals(Nbd.REP_ERR_TLS_REQD, c.optionReply().type());
            // EXPORT_NAME cannot be refused: the connection ends, without export data.
            c.option(Nbd.OPT_EXPORT_NAME, NbdFixture.DEVICE.getBytes());
            assertTrue(c.closedByServer(), "EXPORT_NAME before STARTTLS must close");
        }
        Tools.Result plain = Tools.run(dir, 60, "nbdinfo", "nbd://127.0.0.1:" + port + "/" + NbdFixture.DEVICE);
        assertNotEquals(0, plain.exit(), plain.all());
        assertTrue(plain.all().contains("TLS"), plain.all());
        // The same server on its Unix socket stays plain and offers no TLS.
        try (RawClient c = new RawClient(f.socket)) {
            c.greet(Nbd.FLAG_C_FIXED_NEWSTYLE);
            c.option(Nbd.OPT_STARTTLS, new byte[0]);
            assertEquals(Nbd.REP_ERR_POLICY, c.optionReply().type());
        }
        Tools.ok(dir, 60, "nbdinfo", f.uri(NbdFixture.DEVICE));
    }

    @Test
    void clientsWithoutACertificateOfTheCaAreRefused() throws Exception {
        for (Path creds : new Path[] {foreignClientDir, anonymousDir}) {
            Tools.Result r = Tools.run(dir, 60, "nbdinfo", uri(creds));
            assertNotEquals(0, r.exit(), creds + ": " + r.all());
            assertTrue(!r.out().contains("export-size"), r.all());
        }
        Tools.ok(dir, 60, "nbdinfo", uri(clientDir));
    }

    @Test
    void garbageAfterStartTlsClosesThatConnectionOnly() throws Exception {
        try (RawClient c = new RawClient(new InetSocketAddress("127.0.0.1", port))) {
            c.greet(Nbd.FLAG_C_FIXED_NEWSTYLE);
            c.option(Nbd.OPT_STARTTLS, new byte[] {1});
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type(), "STARTTLS with data");
            c.option(Nbd.OPT_STARTTLS, new byte[0]);
            assertEquals(Nbd.REP_ACK, c.optionReply().type());
            byte[] junk = new byte[4096];
            new java.util.Random(3).nextBytes(junk);
            c.write(ByteBuffer.wrap(junk));
            assertTrue(c.closedByServer(), "garbage instead of a TLS handshake must close");
        }
        Tools.ok(dir, 60, "nbdinfo", uri(clientDir));
    }
}
