package org.jblksnap.nbd.client;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * An NBD server and export named the way nbdinfo, nbdcopy and qemu name them (the NBD URI
 * form of the NetworkBlockDevice project's doc/uri.md): {@code nbd://HOST[:PORT]/EXPORT}
 * (port 10809 when left out) or {@code nbd+unix:///EXPORT?socket=PATH}. The export name is
 * the path without its first slash, percent-decoded; empty names the server's default export.
 */
public record NbdUri(NbdAddress address, String exportName) {
    public static final int DEFAULT_PORT = 10809;

    public static NbdUri parse(String text) {
        URI u;
        try {
            u = new URI(text);
        } catch (URISyntaxException e) {
            throw bad(text, e.getReason());
        }
        String scheme = u.getScheme();
        if (scheme == null) {
            throw bad(text, "no scheme");
        }
        String export = exportName(u);
        return switch (scheme) {
            case "nbd" -> {
                if (u.getHost() == null || u.getHost().isEmpty()) {
                    throw bad(text, "no host");
                }
                if (u.getRawQuery() != null) {
                    throw bad(text, "nbd:// takes no query");
                }
                String host = u.getHost().startsWith("[") ? u.getHost().substring(1, u.getHost().length() - 1) : u.getHost();
                yield new NbdUri(new NbdAddress.Tcp(host, u.getPort() < 0 ? DEFAULT_PORT : u.getPort()), export);
            }
            case "nbd+unix" -> {
                if (u.getRawAuthority() != null) {
                    throw bad(text, "nbd+unix:// takes no host");
                }
                yield new NbdUri(new NbdAddress.Unix(socket(text, u.getRawQuery())), export);
            }
            default -> throw bad(text, "scheme '" + scheme + "' is not nbd or nbd+unix");
        };
    }

    private static String exportName(URI u) {
        String path = u.getRawPath();
        if (path == null || path.isEmpty()) {
            return "";
        }
        return URLDecoder.decode(path.substring(1), StandardCharsets.UTF_8);
    }

    private static Path socket(String text, String query) {
        if (query != null) {
            for (String pair : query.split("&")) {
                if (pair.startsWith("socket=") && pair.length() > "socket=".length()) {
                    return Path.of(URLDecoder.decode(pair.substring("socket=".length()), StandardCharsets.UTF_8));
                }
            }
        }
        throw bad(text, "nbd+unix:// needs ?socket=PATH");
    }

    private static IllegalArgumentException bad(String text, String why) {
        return new IllegalArgumentException("bad NBD URI '" + text + "': " + why
                + " (nbd://HOST[:PORT]/EXPORT or nbd+unix:///EXPORT?socket=PATH)");
    }

    @Override
    public String toString() {
        return address + " export '" + exportName + "'";
    }
}
