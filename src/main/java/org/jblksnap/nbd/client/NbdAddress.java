package org.jblksnap.nbd.client;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

import org.jblksnap.nbd.protocol.HostPort;
import org.jblksnap.nbd.tls.TlsCredentials;

/**
 * Where an NBD server listens: a Unix socket or a TCP host and port, and the TLS client
 * credentials to start TLS with (null for a plain connection).
 */
public sealed interface NbdAddress {

    /** Opens a blocking connection to the server. */
    SocketChannel open() throws IOException;

    /** Client credentials: the connection starts TLS first and checks the server against their CA. */
    TlsCredentials tls();

    /** The name the server's certificate must carry. */
    String host();

    int port();

    record Unix(Path socket, TlsCredentials tls) implements NbdAddress {
        public Unix(Path socket) {
            this(socket, null);
        }

        @Override
        public SocketChannel open() throws IOException {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            return connect(ch, UnixDomainSocketAddress.of(socket), this);
        }

        /** As libnbd and qemu do for a Unix socket: the server's certificate names localhost. */
        @Override
        public String host() {
            return "localhost";
        }

        @Override
        public int port() {
            return -1;
        }

        @Override
        public String toString() {
            return "unix:" + socket + (tls != null ? " (TLS)" : "");
        }
    }

    record Tcp(String host, int port, TlsCredentials tls) implements NbdAddress {
        public Tcp(String host, int port) {
            this(host, port, null);
        }

        @Override
        public SocketChannel open() throws IOException {
            SocketChannel ch = SocketChannel.open();
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            return connect(ch, new InetSocketAddress(host, port), this);
        }

        @Override
        public String toString() {
            return host + ":" + port + (tls != null ? " (TLS)" : "");
        }
    }

    /**
     * Reads {@code unix:PATH}, an absolute socket path, or {@code HOST:PORT} (an IPv6 host in
     * brackets).
     */
    static NbdAddress parse(String text) {
        if (text.startsWith("unix:")) {
            return new Unix(Path.of(text.substring("unix:".length())));
        }
        if (text.startsWith("/")) {
            return new Unix(Path.of(text));
        }
        InetSocketAddress a;
        try {
            a = HostPort.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("NBD address '" + text
                    + "' is neither unix:PATH, an absolute socket path nor HOST:PORT (" + e.getMessage() + ")");
        }
        if (a.getPort() == 0) {
            throw new IllegalArgumentException("NBD address '" + text + "' has port 0");
        }
        return new Tcp(a.getHostString(), a.getPort());
    }

    private static SocketChannel connect(SocketChannel ch, SocketAddress to, NbdAddress what) throws IOException {
        try {
            ch.connect(to);
            return ch;
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot connect to NBD server at " + what + ": " + e.getMessage(), e);
        }
    }
}
