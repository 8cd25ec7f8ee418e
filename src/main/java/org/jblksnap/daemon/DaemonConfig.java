package org.jblksnap.daemon;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jblksnap.control.ControlProtocol;
import org.jblksnap.control.TakeHooks;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.IoMessages;
import org.jblksnap.nbd.protocol.HostPort;
import org.jblksnap.nbd.server.NbdLimits;
import org.jblksnap.nbd.tls.TlsCredentials;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a daemon serves and how: from a JSON config file, then command-line options on top.
 *
 * <pre>
 * {
 *   "run_dir":  "/run/jblksnap",
 *   "state_dir": "/var/lib/jblksnap",
 *   "devices":  {"disk0": "/var/lib/images/disk0.img"},
 *   "nbd_tcp":  ["127.0.0.1:10809"],
 *   "fuse_dir": "/mnt/jblksnap",
 *   "params":   {"chunk_minimum_shift": 16},
 *   "log_level": "INFO",
 *   "take_hooks": {"pre_take": "virsh domfsfreeze vm1", "post_take": "virsh domfsthaw vm1", "timeout_seconds": 60},
 *   "nbd_max_connections": 1024,
 *   "nbd_memory_mib": 256,
 *   "nbd_handshake_timeout_seconds": 10,
 *   "nbd_request_timeout_seconds": 60,
 *   "jobs": [{"name": "nightly", "devices": ["disk0"], "repo": "/srv/backup", "schedule": "0 2 * * *", "keep_daily": 7}],
 *   "metrics": "127.0.0.1:9710",
 *   "tls_certificates": "/etc/pki/jblksnap",
 *   "tls": "require",
 *   "nbd_socket_group": "libvirt-qemu"
 * }
 * </pre>
 * NBD over TCP requires TLS: {@code tls_certificates} names a directory of X.509 credentials
 * (see {@code nbd.tls.TlsCredentials}); only {@code "tls": "off"} serves TCP without.
 * {@code nbd_socket_group} lets one group (and nobody else) reach {@code nbd.sock}.
 * The take hooks are the commands every snapshot_take runs before and after it unless it names
 * its own (see {@code control.TakeHooks}). The jobs' fields are {@link JobConfig}'s. A job
 * with a wrong field, or whose name another job has too, is refused with one line and the
 * daemon runs the others; a file that is not JSON, a wrong field of the daemon's own, or a job
 * with no name (nothing to report its error under) refuses the whole file. The nbd_
 * limits are {@link NbdLimits}' (all connections together); {@code ./jblksnap} sizes the JVM's
 * direct memory from the two first.
 */
public final class DaemonConfig {
    public Path runDir;
    /** Where CBT maps are saved; the run directory when not set. Keep it off tmpfs to survive reboots. */
    public Path stateDir;
    public final Map<String, Path> devices = new LinkedHashMap<>();
    public final List<InetSocketAddress> nbdTcp = new ArrayList<>();
    public Path fuseDir;
    public final Map<String, String> params = new LinkedHashMap<>();
    public String logLevel = "INFO";
    public TakeHooks.Commands takeHooks = TakeHooks.Commands.DEFAULTS;
    public NbdLimits nbdLimits = NbdLimits.DEFAULTS;
    /** Scheduled backups ({@link JobConfig}), their names unique. */
    final List<JobConfig> jobs = new ArrayList<>();
    /** The jobs refused by name, each with its error (which starts with the config file's name); none of them runs. */
    final Map<String, String> refusedJobs = new LinkedHashMap<>();
    /** Where /metrics is served (Prometheus text format), or null. */
    public InetSocketAddress metrics;
    /** X.509 credentials for the TCP listeners; null for none. */
    public Path tlsCertificates;
    /** "require" (the default) or "off": TCP listeners without TLS, open to anyone who reaches them. */
    public String tls = TLS_REQUIRE;
    /** A group that may reach nbd.sock (mode 0660), or null for the daemon's user alone. */
    public String nbdSocketGroup;

    public static final String TLS_REQUIRE = "require";
    public static final String TLS_OFF = "off";

    /** Reads a config file; every field is optional. */
    public static DaemonConfig load(Path file) throws IOException {
        DaemonConfig c = new DaemonConfig();
        if (!Files.isRegularFile(file)) {
            throw new InvalidArgumentException("config file " + file + " does not exist");
        }
        JsonNode root;
        try {
            root = ControlProtocol.JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            // Jackson names where an object began as "[Source: REDACTED ...; line: L, column: C]": the line and column
            String what = e.getOriginalMessage().replaceAll("\\[Source: [^\\]]*; (line: \\d+, column: \\d+)\\]", "$1");
            throw new InvalidArgumentException("config file " + file + " is not valid JSON: " + what
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
        } catch (IOException e) {
            throw new InvalidArgumentException("config file " + file + ": cannot read it: " + IoMessages.reason(e));
        }
        if (root == null || !root.isObject()) {
            throw new InvalidArgumentException("config file " + file + " must hold a JSON object");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext();) {
            String f = it.next();
            JsonNode v = root.get(f);
            switch (f) {
                case "run_dir" -> c.runDir = Path.of(v.asText());
                case "state_dir" -> c.stateDir = Path.of(v.asText());
                case "devices" -> v.properties().forEach(e -> c.devices.put(e.getKey(), Path.of(e.getValue().asText())));
                case "nbd_tcp" -> v.forEach(a -> c.nbdTcp.add(parseAddress(a.asText())));
                case "fuse_dir" -> c.fuseDir = Path.of(v.asText());
                case "params" -> v.properties().forEach(e -> c.params.put(e.getKey(), e.getValue().asText()));
                case "log_level" -> c.logLevel = v.asText();
                case "take_hooks" -> c.takeHooks = takeHooks(file, v);
                case "nbd_max_connections" -> c.nbdLimits = c.nbdLimits.withMaxConnections(
                        (int) positive(file, f, v, Integer.MAX_VALUE));
                case "nbd_memory_mib" -> c.nbdLimits = c.nbdLimits.withPayloadMemory(
                        positive(file, f, v, 1L << 30) << 20);
                case "nbd_handshake_timeout_seconds" -> c.nbdLimits = c.nbdLimits.withHandshakeTimeout(
                        Duration.ofSeconds(positive(file, f, v, 86_400)));
                case "nbd_request_timeout_seconds" -> c.nbdLimits = c.nbdLimits.withRequestTimeout(
                        Duration.ofSeconds(positive(file, f, v, 86_400)));
                case "jobs" -> jobs(file, v, c);
                case "metrics" -> c.metrics = parseMetricsAddress(v.asText());
                case "tls_certificates" -> c.tlsCertificates = Path.of(v.asText());
                case "tls" -> c.tls = v.asText();
                case "nbd_socket_group" -> c.nbdSocketGroup = v.asText();
                default -> throw new InvalidArgumentException("config file " + file + ": unknown field '" + f + "'");
            }
        }
        return c;
    }

    /** A whole number from 1 to max. */
    private static long positive(Path file, String field, JsonNode v, long max) {
        if (!v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < 1 || v.asLong() > max) {
            throw new InvalidArgumentException("config file " + file + ": " + field + " must be a whole number from 1 to "
                    + max + ", got " + v);
        }
        return v.asLong();
    }

    private static TakeHooks.Commands takeHooks(Path file, JsonNode v) {
        String pre = null;
        String post = null;
        Long timeout = null;
        for (Iterator<String> it = v.fieldNames(); it.hasNext();) {
            String f = it.next();
            JsonNode x = v.get(f);
            switch (f) {
                case "pre_take" -> pre = x.asText();
                case "post_take" -> post = x.asText();
                case "timeout_seconds" -> {
                    if (!x.canConvertToLong() || x.asLong() <= 0) {
                        throw new InvalidArgumentException("config file " + file + ": take_hooks.timeout_seconds must be"
                                + " a positive number, got " + x);
                    }
                    timeout = x.asLong();
                }
                default -> throw new InvalidArgumentException("config file " + file + ": unknown field take_hooks." + f);
            }
        }
        return new TakeHooks.Commands(pre, post, timeout);
    }

    private static void jobs(Path file, JsonNode v, DaemonConfig c) {
        if (!v.isArray()) {
            throw new InvalidArgumentException("config file " + file + ": jobs is a list of jobs");
        }
        for (JsonNode j : v) {
            String name;
            try {
                name = JobConfig.name(j);
            } catch (InvalidArgumentException e) {
                throw new InvalidArgumentException("config file " + file + ": " + e.getMessage());
            }
            if (c.refusedJobs.containsKey(name) || c.jobs.removeIf(o -> o.name().equals(name))) {
                c.refusedJobs.put(name, "config file " + file + ": two jobs are named " + name);
                continue;
            }
            try {
                c.jobs.add(JobConfig.parse(j, ZoneId.systemDefault()));
            } catch (InvalidArgumentException e) {
                c.refusedJobs.put(name, "config file " + file + ": " + e.getMessage());
            } catch (InvalidPathException e) { // a path no file system takes (a NUL in it)
                c.refusedJobs.put(name, "config file " + file + ": job " + name + ": bad path: " + e.getMessage());
            }
        }
    }

    /** --metrics: HOST:PORT, or PORT alone for 127.0.0.1. */
    public static InetSocketAddress parseMetricsAddress(String s) {
        return parseAddress(s.matches("[0-9]+") ? "127.0.0.1:" + s : s);
    }

    /** HOST:PORT, with an IPv6 host in brackets; resolved here, so a bad host fails at start. */
    public static InetSocketAddress parseAddress(String s) {
        try {
            InetSocketAddress a = HostPort.parse(s);
            return new InetSocketAddress(a.getHostString(), a.getPort());
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException(e.getMessage());
        }
    }

    /**
     * The credentials TCP listeners require, loaded and checked; null when there are no TCP
     * listeners or TLS is explicitly off. TCP without credentials is refused: it would serve
     * every disk to anyone who can reach the port.
     */
    public static TlsCredentials tcpCredentials(boolean anyTcp, Path certificates, String tls) {
        if (!TLS_REQUIRE.equals(tls) && !TLS_OFF.equals(tls)) {
            throw new InvalidArgumentException("bad TLS mode '" + tls + "': use require or off");
        }
        if (!anyTcp || TLS_OFF.equals(tls)) {
            return null;
        }
        if (certificates == null) {
            throw new InvalidArgumentException("NBD over TCP needs --tls-certificates DIR (ca-cert.pem, server-cert.pem,"
                    + " server-key.pem); --tls=off serves it without TLS to anyone who can reach the port");
        }
        return TlsCredentials.load(certificates, TlsCredentials.Role.SERVER);
    }

    /** NAME=VALUE, as --device and --param take it. */
    public static Map.Entry<String, String> parseAssignment(String what, String s) {
        int eq = s.indexOf('=');
        if (eq <= 0 || eq == s.length() - 1) {
            throw new InvalidArgumentException("bad " + what + " '" + s + "': use NAME=VALUE");
        }
        return Map.entry(s.substring(0, eq), s.substring(eq + 1));
    }
}
