package org.jblksnap.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jblksnap.backup.CbtRef;
import org.jblksnap.control.ControlClient;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The snapshot of one backup run: created and taken over the daemon's control socket, and
 * destroyed when closed, also when the run fails or the process is interrupted (SIGINT,
 * SIGTERM) while it reads.
 */
final class BackupSnapshot implements AutoCloseable {
    private final Path runDir;
    private final ControlClient control;
    private final String id;
    private final AtomicBoolean destroyed = new AtomicBoolean();
    private final Thread onExit;

    private BackupSnapshot(Path runDir, ControlClient control, String id) {
        this.runDir = runDir;
        this.control = control;
        this.id = id;
        this.onExit = new Thread(this::destroyOnExit, "destroy snapshot " + id);
        Runtime.getRuntime().addShutdownHook(onExit);
    }

    /** Creates a snapshot of the devices with its difference storage and takes it. */
    static BackupSnapshot take(Path runDir, List<String> devices, Path storage, long limit) throws IOException {
        ControlClient c = ControlClient.connect(runDir);
        BackupSnapshot s;
        try {
            ObjectNode create = ControlClient.args().put("storage", storage.toAbsolutePath().toString()).put("limit", limit);
            devices.forEach(create.putArray("devices")::add);
            s = new BackupSnapshot(runDir, c, c.call("snapshot_create", create).path("id").asText());
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        try {
            c.call("snapshot_take", ControlClient.args().put("id", s.id));
            return s;
        } catch (IOException | RuntimeException e) {
            try {
                s.close();
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** The NBD export name of the device's image. */
    String image(String device) throws IOException {
        return control.call("snapshot_info", ControlClient.args().put("device", device)).path("image").asText();
    }

    /** The device's CBT generation and changes number, as of this snapshot. */
    CbtRef cbt(String device) throws IOException {
        JsonNode cbt = control.call("cbtinfo", ControlClient.args().put("device", device));
        return new CbtRef(cbt.path("generation_id").asText(), cbt.path("changes_number").asInt());
    }

    @Override
    public void close() throws IOException {
        try (control) {
            if (destroyed.compareAndSet(false, true)) {
                control.call("snapshot_destroy", ControlClient.args().put("id", id));
            }
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(onExit);
            } catch (IllegalStateException e) {
                // the JVM is exiting: the hook runs or ran
            }
        }
    }

    /** The shutdown hook: the main thread may be blocked anywhere, so a connection of its own. */
    private void destroyOnExit() {
        if (!destroyed.compareAndSet(false, true)) {
            return;
        }
        try (ControlClient c = ControlClient.connect(runDir)) {
            c.call("snapshot_destroy", ControlClient.args().put("id", id));
            System.err.println("jblksnap: interrupted; snapshot " + id + " destroyed");
        } catch (IOException | RuntimeException e) {
            System.err.println("jblksnap: interrupted; destroying snapshot " + id + " failed: " + e.getMessage());
        }
    }
}
