package org.jblksnap.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.params.Params;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.testutil.CloseOnTimeout;
import org.jblksnap.testutil.TestDevices;
import org.jblksnap.testutil.Trees;
import org.jblksnap.testutil.Warnings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

/**
 * Coverage-guided fuzzing of the control socket: the input is what a client writes to
 * {@code control.sock} (JSON lines), sent to a real {@link ControlServer} and
 * {@link ControlHandler} over a fresh engine with one tracked 1 MiB file. Every line gets one
 * reply line, a JSON object with {@code ok}; the connection closes when the client's stream
 * ends; nothing is logged as a warning (the handler logs what it did not expect).
 *
 * <p>The engine is real, so the harness keeps it in a sandbox: every path argument (and every
 * device named by a path) is moved into the test's directory and waits are capped, and the
 * handler runs no take hooks. Lines that do not parse go through unchanged.
 *
 * <p>{@code mvn test} runs the seeds in {@code src/test/resources/org/jblksnap/control/ControlFuzzTestInputs};
 * {@code scripts/fuzz control SECONDS} fuzzes.
 */
class ControlFuzzTest {
    private static final long TIMEOUT_MS = 20_000;
    /** The reply buffer: a reply is short, but a CBT map of a 1 MiB device fits too. */
    private static final Params PARAMS = TestDevices.params(Map.of("diff_storage_minimum", "256"));
    private static Path sandbox;
    private static Warnings warnings;
    private static Level level;

    @BeforeAll
    static void sandbox() throws IOException {
        sandbox = Files.createTempDirectory("control-fuzz").toRealPath();
        // no verb writes a device: the two files serve every input
        TestDevices.patternFile(sandbox, "xdisk", 1 << 20);
        TestDevices.patternFile(sandbox, "xd1", 1 << 20);
        warnings = new Warnings("org.jblksnap");
        level = Logger.getLogger("org.jblksnap").getLevel();
        Logger.getLogger("org.jblksnap").setLevel(Level.WARNING); // every attach and detach is INFO
    }

    @AfterAll
    static void clean() throws IOException {
        Logger.getLogger("org.jblksnap").setLevel(level);
        warnings.close();
        Trees.delete(sandbox);
    }

    @FuzzTest(maxDuration = "20s")
    void controlLines(byte[] input) throws Exception {
        Path dir = sandbox;
        try (SnapshotManager engine = new SnapshotManager(PARAMS)) {
            engine.attach("disk", dir.resolve("xdisk"));
            Path socket = dir.resolve("control.sock");
            try (ControlServer server = new ControlServer(new ControlHandler(engine), socket);
                    Exchange client = new Exchange(SocketChannel.open(UnixDomainSocketAddress.of(socket)))) {
                String text = new String(input, StandardCharsets.UTF_8);
                String lastId = "";
                int from = 0;
                while (from < text.length()) {
                    int nl = text.indexOf('\n', from);
                    String line = sandboxedLine(nl < 0 ? text.substring(from) : text.substring(from, nl), dir, lastId);
                    JsonNode reply = client.request(line, nl >= 0);
                    assertTrue(reply.isObject() && reply.path("ok").isBoolean(), "a reply object with ok: " + reply);
                    assertEquals(ControlProtocol.VERSION, reply.path("version").asInt(), reply.toString());
                    assertTrue(reply.path("ok").asBoolean() || reply.path("code").asInt() > 0, "an error has its code: " + reply);
                    if (reply.path("result").path("id").isTextual()) {
                        lastId = reply.path("result").path("id").asText();
                    }
                    if (nl < 0) {
                        break;
                    }
                    from = nl + 1;
                }
                client.end();
            }
        } finally {
            Trees.clear(dir, "xdisk", "xd1");
        }
        warnings.assertNone("the control server");
    }

    /** The client's end of one connection; it is closed when the server neither answers nor closes in time. */
    private static final class Exchange implements AutoCloseable {
        private final SocketChannel ch;
        private final ByteBuffer in = ByteBuffer.allocate(1 << 20).flip();

        Exchange(SocketChannel ch) {
            this.ch = ch;
        }

        /** Sends one line (with its newline, or without as the stream's end) and reads its reply. */
        JsonNode request(String line, boolean newline) throws IOException {
            ByteBuffer b = ByteBuffer.wrap((line + (newline ? "\n" : "")).getBytes(StandardCharsets.UTF_8));
            String reply = guarded(() -> {
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                if (!newline) {
                    ch.shutdownOutput();
                }
                return readLine();
            });
            if (reply == null) {
                throw new AssertionError("the connection closed without a reply to: " + line);
            }
            return ControlProtocol.JSON.readTree(reply);
        }

        /** After the last line: the server closes the connection and sends nothing more. */
        void end() throws IOException {
            String more = guarded(() -> {
                if (ch.isConnected()) {
                    ch.shutdownOutput();
                }
                return readLine();
            });
            assertEquals(null, more, "nothing after the last reply");
        }

        private String readLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            while (true) {
                while (in.hasRemaining()) {
                    byte c = in.get();
                    if (c == '\n') {
                        return line.toString(StandardCharsets.UTF_8);
                    }
                    line.write(c);
                }
                in.clear();
                int n = ch.read(in);
                in.flip();
                if (n < 0) {
                    assertEquals(0, line.size(), "a reply ends with a newline: " + line);
                    return null;
                }
            }
        }

        private String guarded(CloseOnTimeout.Io<String> io) throws IOException {
            try {
                return CloseOnTimeout.run(ch, TIMEOUT_MS, "the control server", io);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    /**
     * The line with its paths moved into dir, its waits capped and an id of "@" replaced by
     * the last id a reply gave, when it is a JSON object with an object of arguments; else as
     * it was.
     */
    private static String sandboxedLine(String line, Path dir, String lastId) {
        JsonNode request;
        try {
            request = ControlProtocol.JSON.readTree(line);
        } catch (IOException e) {
            return line;
        }
        if (request == null || !request.isObject() || !(request.get("args") instanceof ObjectNode args)) {
            return line;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = args.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> f = it.next();
            switch (f.getKey()) {
                case "path", "storage", "file" -> f.setValue(inside(f.getValue(), dir, true));
                case "device" -> f.setValue(inside(f.getValue(), dir, false));
                case "devices" -> {
                    if (f.getValue() instanceof ArrayNode a) {
                        for (int i = 0; i < a.size(); i++) {
                            a.set(i, inside(a.get(i), dir, false));
                        }
                    } else {
                        f.setValue(inside(f.getValue(), dir, false));
                    }
                }
                case "id" -> {
                    if ("@".equals(f.getValue().asText())) {
                        f.setValue(TextNode.valueOf(lastId));
                    }
                }
                case "timeout_ms", "hook_timeout_seconds" -> {
                    if (f.getValue().canConvertToLong() && f.getValue().asLong() > 10) {
                        f.setValue(args.numberNode(10));
                    }
                }
                default -> {
                }
            }
        }
        try {
            return ControlProtocol.JSON.writeValueAsString(request);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * A path (always, or for a device only when it names one with a '/') moved into dir: the
     * file name x + its letters and digits. Anything but a non-empty string stays as it is
     * (the handler refuses it).
     */
    private static JsonNode inside(JsonNode v, Path dir, boolean always) {
        if (!v.isTextual()) {
            return v;
        }
        String s = v.asText();
        if (s.isEmpty() || !always && s.indexOf('/') < 0) {
            return v;
        }
        String name = "x" + s.substring(s.lastIndexOf('/') + 1).replaceAll("[^A-Za-z0-9_-]", "");
        return TextNode.valueOf(dir.resolve(name.substring(0, Math.min(name.length(), 64))).toString());
    }
}
