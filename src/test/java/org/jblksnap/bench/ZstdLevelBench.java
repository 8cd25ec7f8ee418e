package org.jblksnap.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;

/**
 * zstd levels on a device's chunks as a backup stores them: every non-zero chunk of FILE
 * compressed on one thread with one reused context, per level, in rounds alternating the
 * levels; prints per level the median CPU MiB/s of compression and of decompression (CPU
 * time of this thread, so a loaded machine skews it less than wall time) and the stored size.
 *
 * <pre>java -cp ... org.jblksnap.bench.ZstdLevelBench FILE [CHUNK=65536] [ROUNDS=5] [LEVELS=1,3]</pre>
 */
public final class ZstdLevelBench {
    private ZstdLevelBench() {
    }

    public static void main(String[] args) throws IOException {
        byte[] all = Files.readAllBytes(Path.of(args[0]));
        int chunk = args.length > 1 ? Integer.parseInt(args[1]) : 65536;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        String[] levels = (args.length > 3 ? args[3] : "1,3").split(",");
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        byte[] out = new byte[(int) Zstd.compressBound(chunk)];
        byte[] back = new byte[chunk];
        double[][] comp = new double[levels.length][rounds];
        double[][] decomp = new double[levels.length][rounds];
        long[] stored = new long[levels.length];
        long raw = 0;
        for (int r = 0; r < rounds; r++) {
            for (int li = 0; li < levels.length; li++) {
                int level = Integer.parseInt(levels[li]);
                long cpuC = 0;
                long cpuD = 0;
                long bytes = 0;
                long size = 0;
                try (ZstdCompressCtx c = new ZstdCompressCtx(); ZstdDecompressCtx d = new ZstdDecompressCtx()) {
                    c.setLevel(level);
                    for (int at = 0; at + chunk <= all.length; at += chunk) {
                        if (zero(all, at, chunk)) {
                            continue;
                        }
                        long t0 = mx.getCurrentThreadCpuTime();
                        int n = c.compressByteArray(out, 0, out.length, all, at, chunk);
                        long t1 = mx.getCurrentThreadCpuTime();
                        d.decompressByteArray(back, 0, chunk, out, 0, n);
                        long t2 = mx.getCurrentThreadCpuTime();
                        cpuC += t1 - t0;
                        cpuD += t2 - t1;
                        bytes += chunk;
                        size += n;
                    }
                }
                comp[li][r] = bytes / 1048576.0 / (cpuC / 1e9);
                decomp[li][r] = bytes / 1048576.0 / (cpuD / 1e9);
                stored[li] = size;
                raw = bytes;
            }
        }
        System.out.printf("%d MiB of non-zero %d-byte chunks, %d rounds, medians of CPU time%n", raw >> 20, chunk, rounds);
        for (int li = 0; li < levels.length; li++) {
            System.out.printf("  level %s: compress %.0f MiB/s, decompress %.0f MiB/s, stored %.1f MiB (%.3f of raw)%n",
                    levels[li], median(comp[li]), median(decomp[li]), stored[li] / 1048576.0, (double) stored[li] / raw);
        }
    }

    private static boolean zero(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s[s.length / 2];
    }
}
