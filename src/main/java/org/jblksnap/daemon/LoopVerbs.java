package org.jblksnap.daemon;

import org.jblksnap.control.ControlHandler;
import org.jblksnap.control.ControlProtocol;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.fuse.FuseExports;
import org.jblksnap.snapshot.SnapshotManager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The `loop` and `unloop` verbs: a device's FUSE file, or its snapshot image's, on a loop
 * device with direct I/O. Only a daemon started with --fuse-dir has those files.
 */
final class LoopVerbs {
    private final SnapshotManager engine;
    private final FuseExports fuse;

    LoopVerbs(SnapshotManager engine, FuseExports fuse) {
        this.engine = engine;
        this.fuse = fuse;
    }

    void register(ControlHandler handler) {
        handler.register("loop", a -> {
            String name = exportName(a);
            String loop = fuse().loops().attach(name);
            return result(a).put("export", name).put("file", fuse.file(name).toString()).put("loop", loop);
        });
        handler.register("unloop", a -> {
            String name = exportName(a);
            fuse().loops().detach(name);
            return result(a).put("export", name);
        });
    }

    private FuseExports fuse() {
        if (fuse == null) {
            throw new InvalidArgumentException("this daemon serves no FUSE files; start it with --fuse-dir DIR");
        }
        return fuse;
    }

    /** The device's own export, or with "image" its snapshot image's. */
    private String exportName(JsonNode a) {
        String device = ControlHandler.text(a, "device");
        return a.path("image").asBoolean(false) ? engine.image(device).name() : engine.tracker(device).name();
    }

    private static ObjectNode result(JsonNode a) {
        return ControlProtocol.JSON.createObjectNode().put("device", a.path("device").asText());
    }
}
