package org.jblksnap.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.jblksnap.repo.Point;
import org.jblksnap.repo.PointImage;
import org.jblksnap.repo.Repository;
import org.jblksnap.daemon.DaemonConfig;
import org.jblksnap.nbd.tls.TlsCredentials;
import org.jblksnap.nbd.server.Export;
import org.jblksnap.nbd.server.NbdServer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * `jblksnap serve`: a backup point as a read-only NBD export, for instant restore (a VM boots
 * from it, qemu-img converts it, nbdfuse + loop mounts it). Serves until SIGTERM or SIGINT.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Serve a backup point read-only over NBD.")
final class ServeCommand implements Callable<Integer> {
    @Mixin
    RepositoryOptions repo;

    @Option(names = "--point", required = true, description = "Point number, or latest (with -d).")
    String point;

    @Option(names = "--socket", required = true, description = "Unix socket to listen on.")
    Path socket;

    @Option(names = "--nbd-tcp", paramLabel = "HOST:PORT", description = "Also listen on TCP (repeatable).")
    List<String> tcp = List.of();

    @Option(names = "--tls-certificates", paramLabel = "DIR", description = "X.509 credentials for --nbd-tcp "
            + "(ca-cert.pem, server-cert.pem, server-key.pem).")
    Path tlsCertificates;

    @Option(names = "--tls", paramLabel = "require|off", defaultValue = DaemonConfig.TLS_REQUIRE,
            description = "TLS on --nbd-tcp (default: ${DEFAULT-VALUE}).")
    String tls;

    @Override
    public Integer call() throws Exception {
        TlsCredentials tcpTls = DaemonConfig.tcpCredentials(!tcp.isEmpty(), tlsCertificates, tls);
        CountDownLatch stop = new CountDownLatch(1);
        try (Repository r = repo.open(false)) {
            long id = repo.point(r, point);
            Point p = r.points().get(id);
            String name = p.meta().device() + "@point-" + id;
            try (NbdServer server = new NbdServer()) {
                server.exports().add(new Export(name, "backup point " + id + " of " + p.meta().device() + " taken "
                        + p.meta().created(), PointImage.open(r, id), true));
                server.listenUnix(socket.toAbsolutePath());
                for (String t : tcp) {
                    InetSocketAddress bound = server.listenTcp(DaemonConfig.parseAddress(t), tcpTls);
                    System.out.println("tcp=" + bound.getHostString() + ":" + bound.getPort());
                }
                System.out.println("export=" + name);
                System.out.println("uri=nbd+unix:///" + name + "?socket=" + socket.toAbsolutePath());
                System.out.flush();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    server.close();
                    stop.countDown();
                }, "shutdown"));
                stop.await();
            }
        }
        return 0;
    }
}
