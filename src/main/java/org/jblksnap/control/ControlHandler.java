package org.jblksnap.control;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.jblksnap.Version;
import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.diff.DiffStorage;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.NoSuchSnapshotException;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.snapshot.Snapshot;
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
 * {@code key=value} lines the command line prints; docs/CONTROL.md describes every verb, its
 * fields and its errnos. Other parts of the daemon (loop devices) add their verbs with
 * {@link #register}.
 */
public final class ControlHandler {
    private static final Logger LOG = Logger.getLogger(ControlHandler.class.getName());

    /** One verb. */
    @FunctionalInterface
    public interface Verb {
        ObjectNode run(JsonNode args) throws Exception;
    }

    /** A verb that sends events (progress) on its connection before its reply. */
    @FunctionalInterface
    public interface StreamingVerb {
        ObjectNode run(JsonNode args, ControlEvents events) throws Exception;
    }

    private final SnapshotManager engine;
    private final TakeHooks hooks;
    private final Map<String, StreamingVerb> verbs = new TreeMap<>();
    private volatile AttachGuard attachGuard = (device, path) -> { };

    /** A check the daemon makes before attach puts a file under a device name (it throws to refuse). */
    @FunctionalInterface
    public interface AttachGuard {
        void check(String device, Path path) throws IOException;
    }

    public void guardAttach(AttachGuard guard) {
        attachGuard = guard;
    }

    public ControlHandler(SnapshotManager engine) {
        this(engine, TakeHooks.NONE);
    }

    public ControlHandler(SnapshotManager engine, TakeHooks hooks) {
        this.engine = engine;
        this.hooks = hooks;
        register("version", a -> result().put("version", Version.VERSION));
        register("attach", this::attach);
        register("detach", a -> {
            engine.detach(text(a, "device"));
            return result();
        });
        register("cbtinfo", this::cbtinfo);
        register("readcbtmap", this::readcbtmap);
        register("markdirtyblock", this::markdirtyblock);
        register("tracker_collect", this::trackerCollect);
        register("snapshot_create", this::create);
        register("snapshot_add", a -> {
            engine.add(id(a), text(a, "device"));
            return result();
        });
        register("snapshot_take", this::take);
        register("snapshot_destroy", this::destroy);
        register("snapshot_collect", this::collect);
        register("snapshot_info", this::info);
        register("snapshot_waitevent", this::waitEvent);
        register("stretch_snapshot", this::stretch);
    }

    public void register(String name, Verb verb) {
        verbs.put(name, (args, events) -> verb.run(args));
    }

    public void registerStreaming(String name, StreamingVerb verb) {
        verbs.put(name, verb);
    }

    /** Every verb this handler answers. */
    public Set<String> verbs() {
        return Set.copyOf(verbs.keySet());
    }

    /** Answers one request; never throws. */
    public ObjectNode handle(JsonNode request) {
        return handle(request, ControlEvents.NONE);
    }

    /** Answers one request, a streaming verb sending its events first; never throws. */
    public ObjectNode handle(JsonNode request, ControlEvents events) {
        ObjectNode reply = ControlProtocol.JSON.createObjectNode();
        reply.put("version", ControlProtocol.VERSION);
        try {
            if (request.path("version").asInt(-1) != ControlProtocol.VERSION) {
                throw new InvalidArgumentException("unsupported control protocol version " + request.path("version")
                        + "; this daemon speaks " + ControlProtocol.VERSION);
            }
            String name = request.path("verb").asText("");
            StreamingVerb verb = verbs.get(name);
            if (verb == null) {
                throw new InvalidArgumentException("unknown verb '" + name + "'; known: " + String.join(", ", verbs.keySet()));
            }
            JsonNode args = request.path("args");
            ObjectNode result = verb.run(args.isObject() ? args : ControlProtocol.JSON.createObjectNode(), events);
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

    /** attach: a device already attached is no error, as with blksnap's tool ("Already was attached"). */
    private ObjectNode attach(JsonNode a) throws IOException {
        String path = optionalText(a, "path");
        if (path != null) {
            attachGuard.check(text(a, "device"), Path.of(path));
        }
        SnapshotManager.Attached at = engine.attachDevice(text(a, "device"), path == null ? null : Path.of(path));
        Tracker t = at.tracker();
        CbtInfo info = t.cbt().info();
        return result().put("result", at.already() ? "already attached" : "attached").put("device", t.name())
                .put("path", t.device().path().toString()).put("device_capacity", t.capacity())
                .put("generation_id", info.generationId().toString()).put("changes_number", info.changesNumber());
    }

    private ObjectNode cbtinfo(JsonNode a) {
        return cbtFields(result(), engine.cbtInfo(text(a, "device")));
    }

    private static ObjectNode cbtFields(ObjectNode r, CbtInfo i) {
        return r.put("block_size", i.blockSize()).put("device_capacity", i.deviceCapacity())
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

    /** markdirtyblock: sector ranges of a device, or the extents of a file on a tracked device. */
    private ObjectNode markdirtyblock(JsonNode a) throws IOException {
        String file = optionalText(a, "file");
        if (file != null) {
            if (a.has("ranges")) {
                throw new InvalidArgumentException("markdirtyblock takes ranges or a file, not both");
            }
            SnapshotManager.MarkedFile m = engine.markDirtyFile(Path.of(file), optionalText(a, "device"));
            return result().put("device", m.device()).put("ranges", m.sectorRanges().size());
        }
        List<long[]> ranges = new ArrayList<>();
        for (JsonNode r : a.path("ranges")) {
            if (!r.isArray() || r.size() != 2 || !r.get(0).canConvertToLong() || !r.get(1).canConvertToLong()) {
                throw new InvalidArgumentException("a range is [sector, count], got " + r);
            }
            ranges.add(new long[] {r.get(0).asLong(), r.get(1).asLong()});
        }
        if (ranges.isEmpty()) {
            throw new InvalidArgumentException("markdirtyblock needs at least one range, or a file");
        }
        engine.markDirty(text(a, "device"), ranges);
        return result();
    }

    /** tracker_collect (blksnap v1): every tracked device with its CBT and its snapshot. */
    private ObjectNode trackerCollect(JsonNode a) {
        ObjectNode r = result();
        ArrayNode devices = r.putArray("devices");
        for (Tracker t : engine.trackers()) {
            ObjectNode d = devices.addObject().put("device", t.name()).put("path", t.device().path().toString());
            cbtFields(d, t.cbt().info());
            SnapshotInfo info = engine.info(t.name());
            d.put("snapshot", info.snapshot() == null ? "" : info.snapshot().toString());
        }
        return r;
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

    /** snapshot_take between the take hooks (see {@link TakeHooks}). */
    private ObjectNode take(JsonNode a) throws IOException {
        UUID id = id(a);
        List<String> devices = engine.snapshot(id).deviceNames();
        JsonNode timeout = a.get("hook_timeout_seconds");
        if (timeout != null && (!timeout.canConvertToLong() || timeout.asLong() <= 0)) {
            throw new InvalidArgumentException("hook_timeout_seconds must be a positive number of seconds, got " + timeout);
        }
        TakeHooks.Commands commands = new TakeHooks.Commands(a.has("pre_take") ? a.path("pre_take").asText() : null,
                a.has("post_take") ? a.path("post_take").asText() : null, timeout == null ? null : timeout.asLong());
        ObjectNode r = result();
        hooks.around(id, devices, commands, () -> engine.take(id)).forEach(r::put);
        return r;
    }

    /** snapshot_destroy; an unknown snapshot is ENODEV here, as blksnap answers it. */
    private ObjectNode destroy(JsonNode a) throws IOException {
        try {
            engine.destroy(id(a));
        } catch (NoSuchSnapshotException e) {
            throw NoSuchSnapshotException.toDestroy(text(a, "id"));
        }
        return result();
    }

    /** snapshot_collect: every snapshot id; with an id, that snapshot's storage, devices and images. */
    private ObjectNode collect(JsonNode a) {
        ObjectNode r = result();
        if (!a.has("id")) {
            ArrayNode ids = r.putArray("id");
            for (UUID id : engine.collect()) {
                ids.add(id.toString());
            }
            return r;
        }
        Snapshot s = engine.snapshot(id(a));
        r.put("id", s.id().toString()).put("state", s.state().name().toLowerCase())
                .put("diff_storage", s.storage().path().toString());
        storageFields(r, s.storage().usage());
        ArrayNode devices = r.putArray("devices");
        for (String name : s.deviceNames()) {
            SnapshotImage image = s.images().get(name);
            devices.addObject().put("device", name).put("path", engine.tracker(name).device().path().toString())
                    .put("image", image == null ? "" : image.name()).put("error_code", s.errorCode(name));
        }
        return r;
    }

    private static ObjectNode storageFields(ObjectNode r, DiffStorage.Usage u) {
        return r.put("diff_storage_kind", u.kind().name().toLowerCase()).put("diff_storage_size", u.size())
                .put("diff_storage_filled", u.filled()).put("diff_storage_limit", u.limit());
    }

    private ObjectNode info(JsonNode a) {
        SnapshotInfo i = engine.info(text(a, "device"));
        ObjectNode r = result().put("error_code", i.errorCode()).put("image", i.image());
        if (i.snapshot() != null) {
            r.put("snapshot", i.snapshot().toString());
            storageFields(r, i.storage());
        }
        return r;
    }

    private ObjectNode waitEvent(JsonNode a) throws InterruptedException {
        long timeout = a.path("timeout_ms").asLong(0);
        Optional<SnapshotEvent> e;
        try {
            e = engine.waitEvent(id(a), timeout);
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

    /** stretch_snapshot: raises a snapshot's storage limit (after upstream v1's verb of that name). */
    private ObjectNode stretch(JsonNode a) throws IOException {
        JsonNode limit = a.get("limit");
        if (limit == null || !limit.canConvertToLong()) {
            throw new InvalidArgumentException("stretch_snapshot needs a numeric limit in bytes");
        }
        return storageFields(result(), engine.stretch(id(a), limit.asLong()));
    }

    private static ObjectNode result() {
        return ControlProtocol.JSON.createObjectNode();
    }

    public static String text(JsonNode a, String field) {
        String v = optionalText(a, field);
        if (v == null) {
            throw new InvalidArgumentException("missing argument '" + field + "'");
        }
        return v;
    }

    private static String optionalText(JsonNode a, String field) {
        JsonNode v = a.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual() || v.asText().isEmpty()) {
            throw new InvalidArgumentException("argument '" + field + "' must be a non-empty string");
        }
        return v.asText();
    }

    private static Path path(JsonNode a, String field) {
        return Path.of(text(a, field));
    }

    /** A snapshot id; one that is not a UUID names no snapshot (ESRCH). */
    private static UUID id(JsonNode a) {
        String s = text(a, "id");
        try {
            return UUID.fromString(s);
        } catch (IllegalArgumentException e) {
            throw NoSuchSnapshotException.of("'" + s + "' (not a snapshot id)");
        }
    }
}
