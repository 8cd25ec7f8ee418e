package org.jblksnap.nbd.client;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.nbd.tls.TlsCredentials;

/**
 * An NBD URI as qemu and libnbd write them: {@code nbd://HOST[:PORT]/EXPORT},
 * {@code nbd+unix:///EXPORT?socket=PATH}, and the TLS forms {@code nbds://} and
 * {@code nbds+unix://} with {@code tls-certificates=DIR} (client credentials: ca-cert.pem,
 * client-cert.pem, client-key.pem). The port defaults to 10809, the export to "".
 */
public record NbdUri(NbdAddress address, String export) {
    private static final int DEFAULT_PORT = 10809;

    public static NbdUri parse(String text) {
        URI u;
        try {
            u = new URI(text);
        } catch (URISyntaxException e) {
            throw new InvalidArgumentException("bad NBD URI '" + text + "': " + e.getMessage());
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme();
        boolean tls = scheme.equals("nbds") || scheme.equals("nbds+unix");
        boolean unix = scheme.equals("nbd+unix") || scheme.equals("nbds+unix");
        if (!tls && !unix && !scheme.equals("nbd")) {
            throw new InvalidArgumentException("bad NBD URI '" + text + "': use nbd://, nbds://, nbd+unix:// or nbds+unix://");
        }
        Map<String, String> query = query(u.getRawQuery());
        for (String key : query.keySet()) {
            if (!key.equals("tls-certificates") && !(unix && key.equals("socket"))) {
                throw new InvalidArgumentException("NBD URI '" + text + "' has an unknown parameter '" + key + "'");
            }
        }
        String certs = query.get("tls-certificates");
        if (tls && certs == null) {
            throw new InvalidArgumentException("NBD URI '" + text + "' needs ?tls-certificates=DIR for TLS");
        }
        if (!tls && certs != null) {
            throw new InvalidArgumentException("NBD URI '" + text + "' names TLS certificates: use nbds");
        }
        TlsCredentials creds = tls ? TlsCredentials.load(Path.of(certs), TlsCredentials.Role.CLIENT) : null;
        String path = u.getPath() == null ? "" : u.getPath();
        String export = path.startsWith("/") ? path.substring(1) : path;
        NbdAddress address;
        if (unix) {
            if (u.getRawAuthority() != null) {
                throw new InvalidArgumentException("NBD URI '" + text + "' names a host: a Unix socket takes none");
            }
            String socket = query.get("socket");
            if (socket == null) {
                throw new InvalidArgumentException("NBD URI '" + text + "' needs ?socket=PATH");
            }
            address = new NbdAddress.Unix(Path.of(socket), creds);
        } else {
            if (u.getHost() == null) {
                throw new InvalidArgumentException("NBD URI '" + text + "' has no host");
            }
            String host = u.getHost().startsWith("[") ? u.getHost().substring(1, u.getHost().length() - 1) : u.getHost();
            address = new NbdAddress.Tcp(host, u.getPort() < 0 ? DEFAULT_PORT : u.getPort(), creds);
        }
        return new NbdUri(address, export);
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> m = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return m;
        }
        for (String kv : raw.split("&")) {
            int eq = kv.indexOf('=');
            // percent-decoding only: a '+' in a path stays a '+'
            String k = URLDecoder.decode((eq < 0 ? kv : kv.substring(0, eq)).replace("+", "%2B"), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1).replace("+", "%2B"), StandardCharsets.UTF_8);
            m.put(k, v);
        }
        return m;
    }
}
