package org.jblksnap.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.UUID;

import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.TestCertificates;
import org.jblksnap.testutil.TestDevices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `jblksnap daemon` and NBD access: TCP only with TLS credentials (or an explicit --tls=off),
 * refused with one line and nothing created otherwise; clients of the CA served over TLS; the
 * Unix socket opened to one group and nobody else.
 */
class DaemonTlsCliTest {
    @TempDir
    static Path certs;
    static TestCertificates ca;
    static Path serverDir;
    static Path clientDir;

    @TempDir
    Path dir;
    JblksnapProcess jb;
    Path disk0;

    @BeforeAll
    static void credentials() throws Exception {
        ChildProcess.assumeInstalled("certtool", "nbdinfo");
        ca = TestCertificates.authority(certs, "ca");
        serverDir = ca.server("server");
        clientDir = ca.client("client");
    }

    @BeforeEach
    void setUp() throws Exception {
        disk0 = TestDevices.sparseFile(dir, "disk0.img", 4 << 20);
        jb = new JblksnapProcess(dir.resolve("run"));
    }

    @AfterEach
    void tearDown() throws Exception {
        jb.close();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void refused(String expected, String... args) throws Exception {
        ChildProcess.Result r = jb.runAlone(args);
        assertNotEquals(0, r.exit(), r.all());
        assertTrue(r.err().contains(expected), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(jb.runDir()), "a refused start creates nothing");
    }

    @Test
    void tcpWithoutCredentialsOrWithBadOnesDoesNotStart() throws Exception {
        String run = jb.runDir().toString();
        refused("--tls-certificates", "daemon", "--run-dir", run, "--device", "disk0=" + disk0, "--nbd-tcp",
                "127.0.0.1:" + freePort());
        Path config = dir.resolve("config.json");
        Files.writeString(config, "{\"nbd_tcp\": [\"127.0.0.1:" + freePort() + "\"]}");
        refused("--tls-certificates", "daemon", "--run-dir", run, "--config", config.toString());
        refused("server-cert.pem is missing", "daemon", "--run-dir", run, "--nbd-tcp", "127.0.0.1:" + freePort(),
                "--tls-certificates", clientDir.toString());
        refused("expired on", "daemon", "--run-dir", run, "--nbd-tcp", "127.0.0.1:" + freePort(),
                "--tls-certificates", ca.expiredServer("expired").toString());
        refused("bad TLS mode", "daemon", "--run-dir", run, "--nbd-tcp", "127.0.0.1:" + freePort(), "--tls", "maybe");
    }

    @Test
    void theExampleConfigOpensNoTcp() throws Exception {
        assertTrue(DaemonConfig.load(Path.of("contrib/config.example.json")).nbdTcp.isEmpty());
    }

    @Test
    void tcpWithTlsServesClientsOfTheCaOnly() throws Exception {
        int port = freePort();
        jb.startDaemon("--device", "disk0=" + disk0, "--nbd-tcp", "127.0.0.1:" + port, "--tls-certificates",
                serverDir.toString());
        String ok = ChildProcess.of("nbdinfo", "nbds://127.0.0.1:" + port + "/disk0?tls-certificates=" + clientDir)
                .check().out();
        assertTrue(ok.contains("export-size: " + (4 << 20)), ok);
        ChildProcess.Result plain = ChildProcess.of("nbdinfo", "nbd://127.0.0.1:" + port + "/disk0").run();
        assertNotEquals(0, plain.exit(), plain.all());
        // The Unix socket stays plain.
        ChildProcess.of("nbdinfo", "nbd+unix:///disk0?socket=" + jb.runDir().resolve("nbd.sock")).check();
    }

    @Test
    void tlsOffIsAnExplicitChoice() throws Exception {
        int port = freePort();
        jb.startDaemon("--device", "disk0=" + disk0, "--nbd-tcp", "127.0.0.1:" + port, "--tls=off");
        ChildProcess.of("nbdinfo", "nbd://127.0.0.1:" + port + "/disk0").check();
        assertTrue(jb.daemonLog().contains("without TLS"), jb.daemonLog());
    }

    @Test
    void socketGroupReachesNbdSockAndNobodyElse() throws Exception {
        ChildProcess.assumeInstalled("groupadd", "groupdel", "setpriv");
        String group = "jbt" + UUID.randomUUID().toString().substring(0, 8);
        ChildProcess.of("groupadd", group).check();
        try {
            // Let the unprivileged test user pass through the test's own directory.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
            jb.startDaemon("--device", "disk0=" + disk0, "--nbd-socket-group", group);
            Path run = jb.runDir();
            Path sock = run.resolve("nbd.sock");
            PosixFileAttributes s = Files.readAttributes(sock, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            assertEquals(group, s.group().getName());
            assertEquals("rw-rw----", PosixFilePermissions.toString(s.permissions()));
            PosixFileAttributes r = Files.readAttributes(run, PosixFileAttributes.class);
            assertEquals(group, r.group().getName());
            assertEquals("rwx--x---", PosixFilePermissions.toString(r.permissions()));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(run.resolve("control.sock"))));

            String gid = ChildProcess.of("getent", "group", group).check().out().split(":")[2];
            String uri = "nbd+unix:///disk0?socket=" + sock;
            ChildProcess.Result member = ChildProcess.of(List.of("setpriv", "--reuid=65534", "--regid=65534",
                    "--groups=" + gid, "nbdinfo", uri)).run();
            assertEquals(0, member.exit(), member.all());
            ChildProcess.Result other = ChildProcess.of(List.of("setpriv", "--reuid=65534", "--regid=65534",
                    "--clear-groups", "nbdinfo", uri)).run();
            assertNotEquals(0, other.exit(), other.all());
            assertTrue(other.err().contains("ermission denied"), other.err());
        } finally {
            jb.close();
            ChildProcess.of("groupdel", group).run();
        }
    }
}
