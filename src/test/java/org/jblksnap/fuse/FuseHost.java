package org.jblksnap.fuse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;

import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;

/**
 * The engine with its FUSE exports in a process of its own, for the benchmark script and the
 * crash test. Prints {@code loop NAME=/dev/loopN} for each loop device and {@code ready},
 * then serves until SIGTERM (which unmounts cleanly) or SIGKILL (which leaves a stale mount).
 *
 * <pre>
 * FuseHost --dir MOUNTDIR --device NAME=PATH... [--snapshot STORAGE_DIR] [--loop NAME|image:NAME]...
 *          [--param NAME=VALUE]... [--max-threads N] [--max-write BYTES] [--max-background N]
 * </pre>
 */
public final class FuseHost {
    private FuseHost() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = null;
        Path storage = null;
        Map<String, Path> devices = new LinkedHashMap<>();
        List<String> loops = new ArrayList<>();
        Map<String, String> params = new LinkedHashMap<>();
        FuseExports.Options o = FuseExports.Options.defaults();
        int threads = o.maxThreads();
        int maxWrite = o.maxWrite();
        int background = o.maxBackground();
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--dir" -> dir = Path.of(v);
                case "--device" -> devices.put(v.substring(0, v.indexOf('=')), Path.of(v.substring(v.indexOf('=') + 1)));
                case "--snapshot" -> storage = Path.of(v);
                case "--loop" -> loops.add(v);
                case "--param" -> params.put(v.substring(0, v.indexOf('=')), v.substring(v.indexOf('=') + 1));
                case "--max-threads" -> threads = Integer.parseInt(v);
                case "--max-write" -> maxWrite = Integer.parseInt(v);
                case "--max-background" -> background = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (dir == null || devices.isEmpty()) {
            throw new IllegalArgumentException("--dir and at least one --device are needed");
        }
        Params p = Params.defaults().with(params).corrected().params();
        SnapshotManager engine = new SnapshotManager(p);
        FuseExports exports = new FuseExports(engine, dir, new FuseExports.Options(threads, maxWrite, background));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                exports.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
            engine.close();
            stopped.countDown();
        }));
        for (Map.Entry<String, Path> d : devices.entrySet()) {
            engine.attach(d.getKey(), d.getValue());
        }
        if (storage != null) {
            Files.createDirectories(storage);
            UUID id = engine.create(storage, 64L << 30, List.copyOf(devices.keySet()));
            engine.take(id);
            System.out.println("snapshot " + id);
        }
        for (String l : loops) {
            String export = l.startsWith("image:") ? engine.info(l.substring(6)).image() : l;
            System.out.println("loop " + l + "=" + exports.loops().attach(export));
        }
        System.out.println("direct_io " + exports.directIo());
        System.out.println("ready");
        System.out.flush();
        stopped.await();
    }
}
