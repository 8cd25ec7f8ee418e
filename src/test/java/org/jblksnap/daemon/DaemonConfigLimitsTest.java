package org.jblksnap.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.nbd.server.NbdLimits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The NBD limits in the daemon's config file: read when given, defaults when not, bad values refused. */
class DaemonConfigLimitsTest {
    @TempDir
    Path dir;

    @Test
    void limitsAreReadFromTheConfigFile() throws Exception {
        Path f = Files.writeString(dir.resolve("c.json"), """
                {"nbd_max_connections": 50, "nbd_memory_mib": 100,
                 "nbd_handshake_timeout_seconds": 3, "nbd_request_timeout_seconds": 7}""");
        NbdLimits l = DaemonConfig.load(f).nbdLimits;
        assertEquals(new NbdLimits(50, 100L << 20, Duration.ofSeconds(3), Duration.ofSeconds(7)), l);
        assertEquals(NbdLimits.DEFAULTS, DaemonConfig.load(Files.writeString(dir.resolve("d.json"), "{}")).nbdLimits);
    }

    @Test
    void badLimitsAreRefusedWithTheirName() throws Exception {
        for (String bad : new String[] {"{\"nbd_max_connections\": 0}", "{\"nbd_memory_mib\": \"lots\"}",
                "{\"nbd_memory_mib\": 8}", "{\"nbd_handshake_timeout_seconds\": -1}",
                "{\"nbd_request_timeout_seconds\": 1.5}"}) {
            Path f = Files.writeString(dir.resolve("bad.json"), bad);
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> DaemonConfig.load(f), bad);
            assertTrue(e.getMessage().contains("nbd") || e.getMessage().contains("NBD"), e.getMessage());
        }
    }
}
