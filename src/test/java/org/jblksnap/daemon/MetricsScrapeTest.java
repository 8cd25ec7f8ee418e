package org.jblksnap.daemon;

import static org.jblksnap.daemon.MetricsScrape.freePort;
import static org.jblksnap.daemon.MetricsScrape.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.UUID;

import org.jblksnap.testutil.ChildProcess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device and snapshot series of /metrics (issue 14) against what a real daemon was made
 * to do: known writes and reads over NBD, a snapshot taken, COW copies by device and image
 * writes, the snapshot destroyed, then a backup and a snapshot taken by hand (the dirty blocks
 * count from the last backup). Every scrape passes {@code promtool check metrics}.
 *
 * <p>Geometry with the default parameters, for a 64 MiB device: CBT blocks of 64 KiB, COW
 * chunks of 256 KiB; diff_storage_minimum is set to 4 MiB so the storage grows in 4 MiB steps.
 */
class MetricsScrapeTest {
    private static final int K = 1024;
    private static final int M = 1024 * K;
    private static final int CBT_BLOCK = 64 * K;
    private static final int CHUNK = 256 * K;
    private static final int STORAGE_STEP = 4 * M;

    @TempDir
    Path dir;
    JblksnapProcess jb;
    int port;

    @AfterEach
    void tearDown() throws Exception {
        if (jb != null) {
            jb.close();
        }
    }

    private String scrape() throws Exception {
        return MetricsScrape.scrape(port, dir);
    }

    private static double device(String metrics, String name, String device) {
        return value(metrics, name + "{device=\"" + device + "\"}");
    }

    private static double snapshot(String metrics, String name, String id) {
        return value(metrics, name + "{snapshot=\"" + id + "\"}");
    }

    private static Path sparseFile(Path f, long size) throws Exception {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(size);
        }
        return f;
    }

    @Test
    void deviceAndSnapshotSeriesFollowTheIoAndTheSnapshot() throws Exception {
        ChildProcess.assumeInstalled("promtool", "qemu-io");
        Path disk0 = sparseFile(dir.resolve("disk0.img"), 64 * M);
        Path disk1 = sparseFile(dir.resolve("disk1.img"), 16 * M);
        port = freePort();
        jb = new JblksnapProcess(dir.resolve("run"));
        jb.startDaemon("--device", "disk0=" + disk0, "--device", "disk1=" + disk1, "--metrics", String.valueOf(port),
                "--param", "diff_storage_minimum=" + (STORAGE_STEP / 512));

        // 1. nothing happened yet: every device series is there and zero, no snapshot series
        String before = scrape();
        for (String d : new String[] {"disk0", "disk1"}) {
            for (String name : new String[] {"jblksnap_device_read_requests_total", "jblksnap_device_read_bytes_total",
                    "jblksnap_device_read_seconds_total", "jblksnap_device_write_requests_total",
                    "jblksnap_device_written_bytes_total", "jblksnap_device_write_seconds_total",
                    "jblksnap_cbt_dirty_blocks"}) {
                assertEquals(0, device(before, name, d), name + " of " + d + ":\n" + before);
            }
            assertEquals(CBT_BLOCK, device(before, "jblksnap_cbt_block_bytes", d), before);
        }
        assertFalse(before.contains("{snapshot="), before);

        // 2. four writes (one 8 KiB across a block boundary, one again on block 0), two reads
        jb.qemuIo("disk0", "write -P 0x11 0 4k", "write -P 0x12 1M 128k", "write -P 0x13 10300k 8k",
                "write -P 0x14 0 4k");
        jb.qemuIo("disk0", "read -P 0x12 1M 128k", "read -P 0 2M 1M");
        String io = scrape();
        assertEquals(4, device(io, "jblksnap_device_write_requests_total", "disk0"), io);
        assertEquals(4 * K + 128 * K + 8 * K + 4 * K, device(io, "jblksnap_device_written_bytes_total", "disk0"), io);
        assertEquals(2, device(io, "jblksnap_device_read_requests_total", "disk0"), io);
        assertEquals(128 * K + M, device(io, "jblksnap_device_read_bytes_total", "disk0"), io);
        double writeSeconds = device(io, "jblksnap_device_write_seconds_total", "disk0");
        double readSeconds = device(io, "jblksnap_device_read_seconds_total", "disk0");
        assertTrue(writeSeconds > 0 && writeSeconds < 10, io);
        assertTrue(readSeconds > 0 && readSeconds < 10, io);
        // blocks 0, 16, 17 (1 MiB + 128 KiB), 160 and 161 (10300 KiB + 8 KiB crosses 10304 KiB)
        assertEquals(5, device(io, "jblksnap_cbt_dirty_blocks", "disk0"), io);
        assertEquals(0, device(io, "jblksnap_device_write_requests_total", "disk1"), "disk0's I/O is not disk1's:\n" + io);
        assertEquals(0, device(io, "jblksnap_device_read_bytes_total", "disk1"), io);
        assertEquals(0, device(io, "jblksnap_cbt_dirty_blocks", "disk1"), io);

        // 3. a snapshot: created, its storage is empty; taken, the CBT starts counting again
        String id = jb.ok("snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "64M").out().strip();
        UUID.fromString(id);
        String created = scrape();
        assertEquals(64 * M, snapshot(created, "jblksnap_snapshot_diff_storage_limit_bytes", id), created);
        assertEquals(0, snapshot(created, "jblksnap_snapshot_diff_storage_bytes", id), created);
        assertEquals(0, snapshot(created, "jblksnap_snapshot_diff_storage_filled_bytes", id), created);
        assertEquals(0, snapshot(created, "jblksnap_snapshot_cow_chunks_total", id), created);
        assertEquals(5, device(created, "jblksnap_cbt_dirty_blocks", "disk0"), "create alone switches nothing:\n" + created);
        jb.ok("snapshot_take", "-i", id);
        String taken = scrape();
        assertEquals(0, device(taken, "jblksnap_cbt_dirty_blocks", "disk0"), "dirty since the take:\n" + taken);
        assertEquals(0, snapshot(taken, "jblksnap_snapshot_cow_chunks_total", id), taken);

        // device writes copy chunks 0, 4 (twice written, copied once), 80 and 81; marks blocks 0, 16, 320..327
        jb.qemuIo("disk0", "write -P 0x21 0 4k", "write -P 0x22 1M 4k", "write -P 0x23 1032k 4k",
                "write -P 0x24 20M 512k", "flush");
        String cow = scrape();
        assertEquals(8, device(cow, "jblksnap_device_write_requests_total", "disk0"), cow);
        assertEquals(4 * K + 128 * K + 8 * K + 4 * K + 3 * 4 * K + 512 * K,
                device(cow, "jblksnap_device_written_bytes_total", "disk0"), cow);
        assertTrue(device(cow, "jblksnap_device_write_seconds_total", "disk0") > writeSeconds, cow);
        assertEquals(4, snapshot(cow, "jblksnap_snapshot_cow_chunks_total", id), cow);
        assertEquals(1 + 1 + 8, device(cow, "jblksnap_cbt_dirty_blocks", "disk0"), cow);

        // a write to the image copies chunk 100 and marks block 400; it is no I/O of the device
        String image = jb.ok("snapshot_info", "-d", "disk0", "-f", "image").out().strip();
        jb.qemuIo(image, "write -P 0x31 25M 4k");
        String during = scrape();
        assertEquals(8, device(during, "jblksnap_device_write_requests_total", "disk0"), during);
        assertEquals(5, snapshot(during, "jblksnap_snapshot_cow_chunks_total", id), during);
        assertEquals(11, device(during, "jblksnap_cbt_dirty_blocks", "disk0"), during);
        double size = snapshot(during, "jblksnap_snapshot_diff_storage_bytes", id);
        double filled = snapshot(during, "jblksnap_snapshot_diff_storage_filled_bytes", id);
        double limit = snapshot(during, "jblksnap_snapshot_diff_storage_limit_bytes", id);
        assertEquals(5 * CHUNK, filled, "five whole chunks in the storage:\n" + during);
        assertEquals(STORAGE_STEP, size, "grown once by diff_storage_minimum:\n" + during);
        assertEquals(64 * M, limit, during);
        assertTrue(filled <= size && size <= limit, during);
        ChildProcess.Result collect = jb.ok("snapshot_collect", "-i", id);
        assertEquals(collect.get("diff_storage_size"), String.valueOf((long) size), collect.out());
        assertEquals(collect.get("diff_storage_filled"), String.valueOf((long) filled), collect.out());
        assertEquals(collect.get("diff_storage_limit"), String.valueOf((long) limit), collect.out());

        // 4. destroyed: its series are gone, the device's stay
        jb.ok("snapshot_destroy", "-i", id);
        String after = scrape();
        assertFalse(after.contains(id), after);
        assertFalse(after.contains("{snapshot="), after);
        assertEquals(8, device(after, "jblksnap_device_write_requests_total", "disk0"), after);
        assertEquals(11, device(after, "jblksnap_cbt_dirty_blocks", "disk0"), "destroy switches nothing:\n" + after);

        // 5. after a backup by the daemon the count is since that backup: a snapshot taken by hand resets nothing
        jb.ok("backup", "--encryption", "none", "-d", "disk0", "--repo", dir.resolve("repo").toString(), "--storage",
                dir.toString());
        assertEquals(0, device(scrape(), "jblksnap_cbt_dirty_blocks", "disk0"), "nothing written since the backup");
        jb.qemuIo("disk0", "write -P 0x41 30M 4k");
        String manual = jb.ok("snapshot_create", "-d", "disk0", "-f", dir.toString(), "-l", "64M").out().strip();
        jb.ok("snapshot_take", "-i", manual);
        jb.ok("snapshot_destroy", "-i", manual);
        jb.qemuIo("disk0", "write -P 0x42 40M 4k");
        String sinceBackup = scrape();
        assertEquals(2, device(sinceBackup, "jblksnap_cbt_dirty_blocks", "disk0"), "blocks 480 and 640, the first "
                + "before a take by hand, both since the backup (what the next incremental reads):\n" + sinceBackup);
        assertEquals(0, device(sinceBackup, "jblksnap_cbt_dirty_blocks", "disk1"), "disk1: no backup, no write");
    }
}
