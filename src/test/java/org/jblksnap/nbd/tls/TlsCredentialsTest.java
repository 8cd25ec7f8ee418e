package org.jblksnap.nbd.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLEngine;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.testutil.TestCertificates;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading credentials: the keys certtool and openssl write (PKCS#1, SEC 1, PKCS#8) load;
 * a missing directory or file, an expired certificate, a key of another certificate, an
 * encrypted key or a file that is not PEM is refused with one line naming the file.
 */
class TlsCredentialsTest {
    @TempDir
    static Path certs;
    static TestCertificates ca;
    static Path server;
    static Path client;

    @BeforeAll
    static void make() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/certtool")), "certtool (gnutls-bin) is not installed");
        ca = TestCertificates.authority(certs, "ca");
        server = ca.server("server");
        client = ca.client("client");
    }

    private static Path copy(Path from, String name) throws Exception {
        Path to = Files.createDirectories(certs.resolve(name));
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return to;
    }

    private static String refused(Path dir, TlsCredentials.Role role) {
        String m = assertThrows(InvalidArgumentException.class, () -> TlsCredentials.load(dir, role)).getMessage();
        assertFalse(m.contains("\n"), "one line: " + m);
        return m;
    }

    @Test
    void certtoolCredentialsLoadForBothRoles() {
        SSLEngine s = TlsCredentials.load(server, TlsCredentials.Role.SERVER).engine(null, -1);
        assertTrue(s.getNeedClientAuth());
        assertEquals("TLSv1.3", String.join(",", s.getEnabledProtocols()));
        SSLEngine c = TlsCredentials.load(client, TlsCredentials.Role.CLIENT).engine("127.0.0.1", 10809);
        assertTrue(c.getUseClientMode());
        assertEquals("HTTPS", c.getSSLParameters().getEndpointIdentificationAlgorithm());
    }

    @Test
    void pkcs8AndPkcs1KeysAsOpensslWritesThem() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is not installed");
        Path pkcs8 = copy(server, "pkcs8");
        openssl("pkey", "-in", server.resolve("server-key.pem").toString(), "-out", pkcs8.resolve("server-key.pem").toString());
        assertTrue(Files.readString(pkcs8.resolve("server-key.pem")).contains("BEGIN PRIVATE KEY"));
        TlsCredentials.load(pkcs8, TlsCredentials.Role.SERVER);
        Path pkcs1 = copy(server, "pkcs1");
        openssl("rsa", "-traditional", "-in", server.resolve("server-key.pem").toString(), "-out",
                pkcs1.resolve("server-key.pem").toString());
        assertTrue(Files.readString(pkcs1.resolve("server-key.pem")).contains("BEGIN RSA PRIVATE KEY"));
        TlsCredentials.load(pkcs1, TlsCredentials.Role.SERVER);
        Path ec8 = copy(client, "ec8");
        openssl("pkey", "-in", client.resolve("client-key.pem").toString(), "-out", ec8.resolve("client-key.pem").toString());
        TlsCredentials.load(ec8, TlsCredentials.Role.CLIENT);

        Path encrypted = copy(server, "encrypted");
        openssl("pkey", "-aes256", "-passout", "pass:secret", "-in", server.resolve("server-key.pem").toString(),
                "-out", encrypted.resolve("server-key.pem").toString());
        assertTrue(refused(encrypted, TlsCredentials.Role.SERVER).contains("encrypted"));
    }

    @Test
    void missingDirectoryAndFiles() throws Exception {
        assertTrue(refused(certs.resolve("nowhere"), TlsCredentials.Role.SERVER).contains("does not exist"));
        // server credentials are not client credentials
        assertTrue(refused(server, TlsCredentials.Role.CLIENT).endsWith("client-cert.pem is missing"));
        Path noCa = copy(server, "no-ca");
        Files.delete(noCa.resolve("ca-cert.pem"));
        assertTrue(refused(noCa, TlsCredentials.Role.SERVER).endsWith("ca-cert.pem is missing"));
        Path noKey = copy(server, "no-key");
        Files.delete(noKey.resolve("server-key.pem"));
        assertTrue(refused(noKey, TlsCredentials.Role.SERVER).endsWith("server-key.pem is missing"));
        Path unreadable = copy(server, "unreadable");
        Files.delete(unreadable.resolve("server-cert.pem"));
        Files.createDirectory(unreadable.resolve("server-cert.pem"));
        assertTrue(refused(unreadable, TlsCredentials.Role.SERVER).contains("server-cert.pem is not readable"));
    }

    @Test
    void expiredCertificate() throws Exception {
        Path expired = ca.expiredServer("expired");
        String m = refused(expired, TlsCredentials.Role.SERVER);
        assertTrue(m.contains("server-cert.pem") && m.contains("expired on 2020-12-31"), m);
    }

    @Test
    void keyOfAnotherCertificateAndFilesThatAreNotPem() throws Exception {
        Path mixed = copy(server, "mixed");
        Files.copy(ca.server("server2").resolve("server-key.pem"), mixed.resolve("server-key.pem"),
                StandardCopyOption.REPLACE_EXISTING);
        assertTrue(refused(mixed, TlsCredentials.Role.SERVER).contains("is not the private key of"));
        Path garbage = copy(server, "garbage");
        Files.writeString(garbage.resolve("server-cert.pem"), "hello\n");
        assertTrue(refused(garbage, TlsCredentials.Role.SERVER).contains("does not hold a PEM certificate"));
        Files.copy(server.resolve("server-cert.pem"), garbage.resolve("server-cert.pem"), StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(garbage.resolve("server-key.pem"), "hello\n");
        assertTrue(refused(garbage, TlsCredentials.Role.SERVER).contains("does not hold a PEM private key"));
    }

    private static void openssl(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "openssl";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", cmd) + ": " + out);
    }
}
