package org.jblksnap.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.daemon.Daemon;
import org.jblksnap.daemon.DaemonConfig;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `jblksnap daemon`: serves until SIGTERM or SIGINT, then stops cleanly. */
@Command(name = "daemon", mixinStandardHelpOptions = true,
        description = "Run the jblksnap service: tracked devices, snapshots, NBD and control sockets.")
final class DaemonCommand implements Callable<Integer> {
    @Option(names = "--run-dir", description = "Directory for control.sock, nbd.sock and state "
            + "(default: $JBLKSNAP_RUN_DIR or /run/jblksnap).")
    Path runDir;

    @Option(names = "--state-dir", description = "Directory for saved CBT maps (default: the run directory).")
    Path stateDir;

    @Option(names = "--device", paramLabel = "NAME=PATH", description = "Attach a device at start (repeatable).")
    List<String> devices = List.of();

    @Option(names = "--nbd-tcp", paramLabel = "HOST:PORT", description = "Also serve NBD on TCP (repeatable).")
    List<String> nbdTcp = List.of();

    @Option(names = "--fuse-dir", paramLabel = "DIR", description = "Serve devices and images as files here.")
    Path fuseDir;

    @Option(names = "--param", paramLabel = "NAME=VALUE", description = "A blksnap module parameter (repeatable).")
    List<String> params = List.of();

    @Option(names = "--config", paramLabel = "FILE", description = "JSON config file; options given here win.")
    Path configFile;

    @Option(names = "--log-level", description = "SEVERE, WARNING, INFO, FINE (default: INFO or the config's).")
    String logLevel;

    @Option(names = "--nbd-max-connections", paramLabel = "N",
            description = "NBD connections at once, all listeners together (default: 1024).")
    Integer nbdMaxConnections;

    @Option(names = "--nbd-memory", paramLabel = "MIB", description = "Payload memory of all NBD connections"
            + " together, in MiB (default: 256; ./jblksnap sizes the JVM's direct memory to match).")
    Long nbdMemoryMib;

    @Option(names = "--nbd-handshake-timeout", paramLabel = "SECONDS",
            description = "An NBD handshake not over by then is closed (default: 10).")
    Long nbdHandshakeTimeout;

    @Option(names = "--nbd-request-timeout", paramLabel = "SECONDS", description = "A request whose rest"
            + " (a WRITE payload) or reply stalls this long closes its NBD connection (default: 60).")
    Long nbdRequestTimeout;

    @Option(names = "--metrics", paramLabel = "[HOST:]PORT",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics (HOST 127.0.0.1 when left out).")
    String metrics;
    @Option(names = "--tls-certificates", paramLabel = "DIR", description = "X.509 credentials for --nbd-tcp: "
            + "ca-cert.pem, server-cert.pem, server-key.pem; clients must start TLS and show a certificate of the CA.")
    Path tlsCertificates;

    @Option(names = "--tls", paramLabel = "require|off", description = "TLS on --nbd-tcp (default: require; off serves "
            + "TCP in the clear to anyone who reaches it).")
    String tls;

    @Option(names = "--nbd-socket-group", paramLabel = "GROUP", description = "Let this group (and nobody else) "
            + "reach nbd.sock, e.g. libvirt-qemu.")
    String nbdSocketGroup;

    @Override
    public Integer call() throws Exception {
        DaemonConfig c = configFile != null ? DaemonConfig.load(configFile) : new DaemonConfig();
        if (runDir != null) {
            c.runDir = runDir;
        } else if (c.runDir == null) {
            c.runDir = ClientOptions.defaultRunDir();
        }
        if (stateDir != null) {
            c.stateDir = stateDir;
        }
        for (String d : devices) {
            Map.Entry<String, String> e = DaemonConfig.parseAssignment("--device", d);
            c.devices.put(e.getKey(), Path.of(e.getValue()));
        }
        nbdTcp.forEach(a -> c.nbdTcp.add(DaemonConfig.parseAddress(a)));
        if (fuseDir != null) {
            c.fuseDir = fuseDir;
        }
        for (String p : params) {
            Map.Entry<String, String> e = DaemonConfig.parseAssignment("--param", p);
            c.params.put(e.getKey(), e.getValue());
        }
        if (logLevel != null) {
            c.logLevel = logLevel;
        }
        if (nbdMaxConnections != null) {
            c.nbdLimits = c.nbdLimits.withMaxConnections(nbdMaxConnections);
        }
        if (nbdMemoryMib != null) {
            c.nbdLimits = c.nbdLimits.withPayloadMemory(Math.multiplyExact(nbdMemoryMib, 1L << 20));
        }
        if (nbdHandshakeTimeout != null) {
            c.nbdLimits = c.nbdLimits.withHandshakeTimeout(Duration.ofSeconds(nbdHandshakeTimeout));
        }
        if (nbdRequestTimeout != null) {
            c.nbdLimits = c.nbdLimits.withRequestTimeout(Duration.ofSeconds(nbdRequestTimeout));
        }
        if (metrics != null) {
            c.metrics = DaemonConfig.parseMetricsAddress(metrics);
        }
        if (tlsCertificates != null) {
            c.tlsCertificates = tlsCertificates;
        }
        if (tls != null) {
            c.tls = tls;
        }
        if (nbdSocketGroup != null) {
            c.nbdSocketGroup = nbdSocketGroup;
        }
        configureLogging(c.logLevel);
        Daemon daemon = new Daemon(c);
        daemon.start();
        Runtime.getRuntime().addShutdownHook(new Thread(daemon::close, "shutdown"));
        daemon.awaitStop();
        return 0;
    }

    private static void configureLogging(String level) {
        Level l;
        try {
            l = Level.parse(level.toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad log level '" + level + "': use SEVERE, WARNING, INFO or FINE");
        }
        Logger root = Logger.getLogger("");
        root.setLevel(l);
        for (Handler h : root.getHandlers()) {
            if (h instanceof ConsoleHandler) {
                h.setLevel(l);
            }
        }
    }
}
