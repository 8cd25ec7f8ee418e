package org.jblksnap.nbd.protocol;

import java.net.InetSocketAddress;

/** HOST:PORT as users write an NBD TCP address, with an IPv6 host in brackets. */
public final class HostPort {
    private HostPort() {
    }

    /** An unresolved address; port 0 is allowed (a listener then picks one). */
    public static InetSocketAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("bad address '" + text + "': use HOST:PORT, e.g. 127.0.0.1:10809");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad port in address '" + text + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " of address '" + text + "' is outside 0..65535");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }
}
