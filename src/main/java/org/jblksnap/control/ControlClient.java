package org.jblksnap.control;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Consumer;

import org.jblksnap.error.Errno;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** A connection to a daemon's control socket. */
public final class ControlClient implements AutoCloseable {
    private final SocketChannel channel;
    private final BufferedReader in;
    private final OutputStream out;

    private ControlClient(SocketChannel channel) {
        this.channel = channel;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        this.out = Channels.newOutputStream(channel);
    }

    /** Connects, or fails with a message that says how to start the daemon. */
    public static ControlClient connect(Path runDir) throws IOException {
        Path socket = runDir.resolve("control.sock");
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot reach the jblksnap daemon at " + socket + " (" + e.getMessage()
                    + "); is `jblksnap daemon --run-dir " + runDir + "` running?");
        }
        return new ControlClient(ch);
    }

    /** Sends one request and returns its result, or throws the daemon's error. */
    public JsonNode call(String verb, ObjectNode args) throws IOException {
        return call(verb, args, event -> { });
    }

    /** The same, handing each event the daemon sends before its reply to events (docs/CONTROL.md, "Events"). */
    public JsonNode call(String verb, ObjectNode args, Consumer<JsonNode> events) throws IOException {
        ObjectNode req = ControlProtocol.JSON.createObjectNode();
        req.put("version", ControlProtocol.VERSION);
        req.put("verb", verb);
        req.set("args", args);
        out.write((ControlProtocol.JSON.writeValueAsString(req) + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        JsonNode reply;
        while (true) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("the daemon closed the control connection without a reply");
            }
            reply = ControlProtocol.JSON.readTree(line);
            if (!reply.has("event")) {
                break;
            }
            events.accept(reply.get("event"));
        }
        if (reply.path("ok").asBoolean(false)) {
            return reply.path("result");
        }
        Errno errno;
        try {
            errno = Errno.valueOf(reply.path("errno").asText("EIO"));
        } catch (IllegalArgumentException e) {
            errno = Errno.EIO;
        }
        throw new ControlException(errno, reply.path("message").asText("the daemon reported an error"));
    }

    public static ObjectNode args() {
        return ControlProtocol.JSON.createObjectNode();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
