package org.jblksnap.control;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.Version;
import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.NoSuchSnapshotException;
import org.jblksnap.snapshot.SnapshotEvent;
import org.jblksnap.snapshot.SnapshotInfo;
import org.jblksnap.snapshot.SnapshotManager;
import org.jblksnap.tracker.Tracker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Turns control requests into engine calls (blksnap's ioctl dispatch in main.c). Each verb
 * takes a JSON object of arguments and returns a JSON object whose fields are the
 * {@code key=value} lines the command line prints. Other parts of the daemon (loop devices)
 * add their verbs with {@link #register}.
 */
public final class ControlHandler {
    private static final Logger LOG = Logger.getLogger(ControlHandler.class.getName());

    /** One verb. */
    @FunctionalInterface
    public interface Verb {
        ObjectNode run(JsonNode args) throws Exception;
    }

    private final SnapshotManager engine;
    private final Map<String, Verb> verbs = new TreeMap<>();

    public ControlHandler(SnapshotManager engine) {
        this.engine = engine;
        register("version", a -> result().put("version", Version.VERSION));
        register("attach", this::attach);
        register("detach", a -> {
            engine.detach(text(a, "device"));
            return result();
        });
        register("cbtinfo", this::cbtinfo);
        register("readcbtmap", this::readcbtmap);
        register("markdirtyblock", this::markdirtyblock);
        register("snapshot_create", this::create);
        register("snapshot_add", a -> {
            engine.add(id(a), text(a, "device"));
            return result();
        });
        register("snapshot_take", a -> {
            engine.take(id(a));
            return result();
        });
        register("snapshot_destroy", a -> {
            engine.destroy(id(a));
            return result();
        });
        register("snapshot_collect", this::collect);
        register("snapshot_info", this::info);
        register("snapshot_waitevent", this::waitEvent);
    }

    public void register(String name, Verb verb) {
        verbs.put(name, verb);
    }

    /** Answers one request; never throws. */
    public ObjectNode handle(JsonNode request) {
        ObjectNode reply = ControlProtocol.JSON.createObjectNode();
        reply.put("version", ControlProtocol.VERSION);
        try {
            if (request.path("version").asInt(-1) != ControlProtocol.VERSION) {
                throw new InvalidArgumentException("unsupported control protocol version " + request.path("version")
                        + "; this daemon speaks " + ControlProtocol.VERSION);
            }
            String name = request.path("verb").asText("");
            Verb verb = verbs.get(name);
            if (verb == null) {
                throw new InvalidArgumentException("unknown verb '" + name + "'; known: " + String.join(", ", verbs.keySet()));
            }
            JsonNode args = request.path("args");
            ObjectNode result = verb.run(args.isObject() ? args : ControlProtocol.JSON.createObjectNode());
            reply.put("ok", true);
            reply.set("result", result);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error(reply, Errno.EIO, "interrupted");
        } catch (BlksnapException | IllegalArgumentException | IOException e) {
            error(reply, Errno.of(e), e.getMessage());
        } catch (Exception e) {
            LOG.log(Level.WARNING, "control request failed", e);
            error(reply, Errno.of(e), e.toString());
        }
        return reply;
    }

    private static void error(ObjectNode reply, Errno errno, String message) {
        reply.put("ok", false);
        reply.put("errno", errno.name());
        reply.put("code", errno.code());
        reply.put("message", message == null ? errno.name() : message);
    }

    private ObjectNode attach(JsonNode a) throws IOException {
        Tracker t = engine.attach(text(a, "device"), path(a, "path"));
        CbtInfo info = t.cbt().info();
        return result().put("device", t.name()).put("path", t.device().path().toString())
                .put("device_capacity", t.capacity()).put("generation_id", info.generationId().toString())
                .put("changes_number", info.changesNumber());
    }

    private ObjectNode cbtinfo(JsonNode a) {
        CbtInfo i = engine.cbtInfo(text(a, "device"));
        return result().put("block_size", i.blockSize()).put("device_capacity", i.deviceCapacity())
                .put("block_count", i.blockCount()).put("generation_id", i.generationId().toString())
                .put("changes_number", i.changesNumber());
    }

    private ObjectNode readcbtmap(JsonNode a) {
        String device = text(a, "device");
        CbtInfo i = engine.cbtInfo(device);
        int first = a.path("first").asInt(0);
        int count = a.has("count") ? a.get("count").asInt() : i.blockCount() - first;
        byte[] map = engine.readCbtMap(device, first, count);
        return result().put("block_size", i.blockSize()).put("block_count", map.length)
                .put("generation_id", i.generationId().toString()).put("changes_number", i.changesNumber())
                .put("map", Base64.getEncoder().encodeToString(map));
    }

    private ObjectNode markdirtyblock(JsonNode a) {
        List<long[]> ranges = new ArrayList<>();
        for (JsonNode r : a.path("ranges")) {
            if (!r.isArray() || r.size() != 2 || !r.get(0).canConvertToLong() || !r.get(1).canConvertToLong()) {
                throw new InvalidArgumentException("a range is [sector, count], got " + r);
            }
            ranges.add(new long[] {r.get(0).asLong(), r.get(1).asLong()});
        }
        if (ranges.isEmpty()) {
            throw new InvalidArgumentException("markdirtyblock needs at least one range");
        }
        engine.markDirty(text(a, "device"), ranges);
        return result();
    }

    private ObjectNode create(JsonNode a) throws IOException {
        List<String> devices = new ArrayList<>();
        for (JsonNode d : a.path("devices")) {
            devices.add(d.asText());
        }
        JsonNode limit = a.get("limit");
        if (limit == null || !limit.canConvertToLong()) {
            throw new InvalidArgumentException("snapshot_create needs a numeric limit in bytes");
        }
        UUID id = engine.create(path(a, "storage"), limit.asLong(), devices);
        return result().put("id", id.toString());
    }

    private ObjectNode collect(JsonNode a) {
        ObjectNode r = result();
        ArrayNode ids = r.putArray("id");
        for (UUID id : engine.collect()) {
            ids.add(id.toString());
        }
        return r;
    }

    private ObjectNode info(JsonNode a) {
        SnapshotInfo i = engine.info(text(a, "device"));
        return result().put("error_code", i.errorCode()).put("image", i.image());
    }

    private ObjectNode waitEvent(JsonNode a) throws InterruptedException {
        UUID id = id(a);
        long timeout = a.path("timeout_ms").asLong(0);
        Optional<SnapshotEvent> e;
        try {
            e = engine.waitEvent(id, timeout);
        } catch (NoSuchSnapshotException ex) {
            return result().put("result", "not found").put("message", ex.getMessage());
        }
        if (e.isEmpty()) {
            return result().put("result", "timeout");
        }
        ObjectNode r = result().put("result", "ok").put("time", e.get().time().toString()).put("event", e.get().code());
        switch (e.get()) {
            case SnapshotEvent.NoSpace n -> r.put("requested_sectors", n.requestedSectors());
            case SnapshotEvent.Corrupted c -> r.put("device", c.device()).put("errno", c.errno().name())
                    .put("error_code", -c.errno().code());
        }
        return r;
    }

    private static ObjectNode result() {
        return ControlProtocol.JSON.createObjectNode();
    }

    public static String text(JsonNode a, String field) {
        JsonNode v = a.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) {
            throw new InvalidArgumentException("missing argument '" + field + "'");
        }
        return v.asText();
    }

    private static Path path(JsonNode a, String field) {
        return Path.of(text(a, field));
    }

    private static UUID id(JsonNode a) {
        String s = text(a, "id");
        try {
            return UUID.fromString(s);
        } catch (IllegalArgumentException e) {
            throw new NoSuchSnapshotException("no snapshot with id '" + s + "' (not a snapshot id)");
        }
    }
}
