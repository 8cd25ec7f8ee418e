package org.jblksnap.nbd.server;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;

import org.jblksnap.nbd.tls.TlsCredentials;
import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;

/**
 * A stand-alone jblksnap NBD server over one file, for scripts/bench-nbd and manual tries:
 * {@code NbdBenchServer SOCKET FILE [--snapshot DIR] [--param NAME=VALUE]... [--tls-tcp PORT DIR]}.
 * The file is attached as device "disk"; with --snapshot a snapshot of it is taken (difference
 * storage in DIR); with --tls-tcp it is also served on 127.0.0.1:PORT with TLS required, the
 * server credentials in DIR (scripts/bench-tls). Prints one "export=NAME" line per export and "ready", then serves until killed.
 */
public final class NbdBenchServer {
    private NbdBenchServer() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: NbdBenchServer SOCKET FILE [--snapshot DIR] [--param NAME=VALUE]...");
            System.exit(2);
        }
        Path socket = Path.of(args[0]);
        Path file = Path.of(args[1]);
        Path snapshotDir = null;
        Map<String, String> overrides = new LinkedHashMap<>();
        int tlsPort = -1;
        Path tlsDir = null;
        for (int i = 2; i < args.length; i++) {
            switch (args[i]) {
                case "--snapshot" -> snapshotDir = Path.of(args[++i]);
                case "--param" -> {
                    String[] kv = args[++i].split("=", 2);
                    overrides.put(kv[0], kv[1]);
                }
                case "--tls-tcp" -> {
                    tlsPort = Integer.parseInt(args[++i]);
                    tlsDir = Path.of(args[++i]);
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Params.Corrected params = Params.defaults().with(overrides).corrected();
        params.warnings().forEach(w -> System.err.println("param: " + w));
        SnapshotManager engine = new SnapshotManager(params.params());
        engine.attach("disk", file);
        if (snapshotDir != null) {
            Files.createDirectories(snapshotDir);
            UUID id = engine.create(snapshotDir, Long.MAX_VALUE & ~511L, List.of("disk"));
            engine.take(id);
        }
        NbdServer server = new NbdServer(engine);
        server.listenUnix(socket);
        if (tlsDir != null) {
            server.listenTcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), tlsPort),
                    TlsCredentials.load(tlsDir, TlsCredentials.Role.SERVER));
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            engine.close();
            stopped.countDown();
        }));
        for (String name : server.exports().names()) {
            System.out.println("export=" + name);
        }
        System.out.println("ready");
        System.out.flush();
        stopped.await();
    }
}
