package org.jblksnap.control;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.device.UnixSocketFile;
import org.jblksnap.error.Errno;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * The daemon's control socket. Only the daemon's own user may talk to it: the socket file is
 * mode 0600 and each connection's peer uid (SO_PEERCRED) is checked. Each connection is
 * served by its own virtual thread, so a long snapshot_waitevent blocks nobody else.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ControlServer.class.getName());

    private final ControlHandler handler;
    private final Path socket;
    private final ServerSocketChannel server;
    private final UserPrincipal owner;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;

    public ControlServer(ControlHandler handler, Path socket) throws IOException {
        this.handler = handler;
        this.socket = socket;
        this.server = UnixSocketFile.listen(socket, "control socket", PosixFilePermissions.fromString("rw-------"));
        this.owner = Files.getOwner(socket);
        this.acceptor = Thread.ofPlatform().name("control-accept").daemon().start(this::acceptLoop);
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                connections.add(ch);
                Thread.ofVirtual().name("control-conn").start(() -> serve(ch));
            } catch (IOException e) {
                if (server.isOpen()) {
                    LOG.log(Level.WARNING, "control accept failed", e);
                }
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (ch) {
            OutputStream out = Channels.newOutputStream(ch);
            UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
            if (!peer.user().equals(owner)) {
                LOG.warning(() -> "control connection from user " + peer.user().getName() + " refused");
                send(out, refusal(peer));
                return;
            }
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            String line;
            while ((line = readLine(in)) != null) {
                JsonNode request;
                try {
                    request = ControlProtocol.JSON.readTree(line);
                } catch (IOException e) {
                    request = null;
                }
                ObjectNode reply = request != null && request.isObject() ? handler.handle(request, event -> {
                    ObjectNode e = ControlProtocol.JSON.createObjectNode().put("version", ControlProtocol.VERSION);
                    e.set("event", event);
                    send(out, e);
                }) : error(Errno.EINVAL, "malformed request: not a JSON object");
                send(out, reply);
            }
        } catch (IOException e) {
            LOG.log(Level.FINE, "control connection ended", e);
        } finally {
            connections.remove(ch);
        }
    }

    /** A line, or null at end of stream; a line longer than the limit ends the connection. */
    private static String readLine(BufferedReader in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                return sb.toString();
            }
            if (sb.length() >= ControlProtocol.MAX_LINE) {
                throw new IOException("control request longer than " + ControlProtocol.MAX_LINE + " bytes");
            }
            sb.append((char) c);
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    private ObjectNode refusal(UnixDomainPrincipal peer) {
        return error(Errno.EACCES, "user " + peer.user().getName() + " may not control this daemon (owner "
                + owner.getName() + ")");
    }

    private static ObjectNode error(Errno errno, String message) {
        ObjectNode r = ControlProtocol.JSON.createObjectNode();
        r.put("version", ControlProtocol.VERSION).put("ok", false).put("errno", errno.name()).put("code", errno.code())
                .put("message", message);
        return r;
    }

    /** One line; events and the reply of one request may come from several threads. */
    private static void send(OutputStream out, ObjectNode reply) throws IOException {
        byte[] line = (ControlProtocol.JSON.writeValueAsString(reply) + "\n").getBytes(StandardCharsets.UTF_8);
        synchronized (out) {
            out.write(line);
            out.flush();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (SocketChannel ch : connections) {
            ch.close();
        }
        try {
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(socket);
    }
}
