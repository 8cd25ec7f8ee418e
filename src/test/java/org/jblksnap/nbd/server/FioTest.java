package org.jblksnap.nbd.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** fio's nbd engine writing and verifying, on the device and on an image being written under. */
class FioTest {
    private static final long SIZE = 32L << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void tools() {
        Tools.require("fio");
    }

    private void fioVerify(String uri) throws Exception {
        for (String rw : new String[] {"randwrite", "write"}) {
            String out = Tools.ok(dir, 300, "fio", "--name=verify-" + rw, "--ioengine=nbd", "--uri=" + uri,
                    "--rw=" + rw, "--bsrange=4k-256k", "--iodepth=16", "--size=" + SIZE, "--verify=crc32c",
                    "--do_verify=1", "--verify_fatal=1", "--verify_backlog=256", "--randrepeat=0");
            assertFalse(out.contains("verify:"), out);
            assertTrue(out.contains("err= 0"), out);
        }
    }

    @Test
    void writeAndVerifyOnTheDevice() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            fioVerify(f.uri(NbdFixture.DEVICE));
        }
    }

    @Test
    void writeAndVerifyOnAnImageWhileTheDeviceIsWritten() throws Exception {
        try (NbdFixture f = new NbdFixture(dir, SIZE)) {
            f.fillDevice(1);
            String image = f.takeSnapshot();
            try (NbdFixture.DeviceWriter w = f.startDeviceWriter()) {
                fioVerify(f.uri(image));
                assertTrue(w.writes() > 0);
            }
            f.assertDeviceHasOnlyBaseAndLaterWrites();
        }
    }
}
