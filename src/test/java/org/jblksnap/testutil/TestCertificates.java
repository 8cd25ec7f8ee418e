package org.jblksnap.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * X.509 credentials made with certtool (gnutls-bin) for TLS tests, in the directory layout
 * qemu-nbd, nbdkit and libnbd read: a CA, then server and client certificates it signs (the
 * server's names localhost and 127.0.0.1), each side's directory holding ca-cert.pem and its
 * own pair. Server and CA keys are RSA, client keys ECDSA: gnutls clients (qemu, libnbd) do
 * not offer an RSA client certificate to a TLS 1.3 server that, as JSSE does, lists only
 * RSA-PSS for signatures (README, "NBD over TCP with TLS").
 */
public final class TestCertificates {
    private final Path dir;
    private final String name;

    private TestCertificates(Path dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    /** A new CA named name, in dir/name. */
    public static TestCertificates authority(Path dir, String name) throws IOException, InterruptedException {
        TestCertificates ca = new TestCertificates(Files.createDirectories(dir.resolve(name)), name);
        ca.key(ca.dir.resolve("ca-key.pem"), "rsa");
        Path info = ca.template("ca", "cn = " + name + " test CA", "ca", "cert_signing_key", "expiration_days = 30");
        run("certtool", "--generate-self-signed", "--load-privkey", ca.dir.resolve("ca-key.pem").toString(),
                "--template", info.toString(), "--outfile", ca.dir.resolve("ca-cert.pem").toString());
        return ca;
    }

    /** A directory with ca-cert.pem, server-cert.pem and server-key.pem. */
    public Path server(String dirName) throws IOException, InterruptedException {
        return issue(dirName, "server", "cn = localhost", "dns_name = localhost", "ip_address = 127.0.0.1",
                "tls_www_server", "encryption_key", "signing_key", "expiration_days = 30");
    }

    /** A directory with ca-cert.pem, client-cert.pem and client-key.pem. */
    public Path client(String dirName) throws IOException, InterruptedException {
        return issue(dirName, "client", "cn = " + name + " client", "tls_www_client", "encryption_key", "signing_key",
                "expiration_days = 30");
    }

    /** Server credentials whose certificate expired (valid in 2020 only). */
    public Path expiredServer(String dirName) throws IOException, InterruptedException {
        return issue(dirName, "server", "cn = localhost", "ip_address = 127.0.0.1", "tls_www_server",
                "signing_key", "activation_date = \"2020-01-01 00:00:00 UTC\"",
                "expiration_date = \"2020-12-31 00:00:00 UTC\"");
    }

    private Path issue(String dirName, String role, String... template) throws IOException, InterruptedException {
        Path out = Files.createDirectories(dir.getParent().resolve(dirName));
        Files.copy(dir.resolve("ca-cert.pem"), out.resolve("ca-cert.pem"));
        Path key = out.resolve(role + "-key.pem");
        key(key, role.equals("client") ? "ecdsa" : "rsa");
        Path info = template(dirName + "-" + role, template);
        run("certtool", "--generate-certificate", "--load-ca-certificate", dir.resolve("ca-cert.pem").toString(),
                "--load-ca-privkey", dir.resolve("ca-key.pem").toString(), "--load-privkey", key.toString(),
                "--template", info.toString(), "--outfile", out.resolve(role + "-cert.pem").toString());
        return out;
    }

    private void key(Path file, String type) throws IOException, InterruptedException {
        run("certtool", "--generate-privkey", "--key-type=" + type, "--outfile", file.toString());
    }

    private Path template(String what, String... lines) throws IOException {
        Path t = dir.resolve(what + ".info");
        Files.write(t, List.of(lines));
        return t;
    }

    private static void run(String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " failed:\n" + new String(out));
        }
    }
}
