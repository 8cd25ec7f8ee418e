package org.jblksnap.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.jblksnap.control.ControlClient;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.repo.Repository;
import org.jblksnap.repo.RepositoryLocation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * `jblksnap restore --live`: asks the daemon to attach the target restored live
 * ({@code restore_live}), then reports its progress on stderr until the background copy ends,
 * and prints the final status. Interrupting this command does not stop the restore.
 */
final class LiveRestore {
    private static final long POLL_MILLIS = 1000;

    private final RepositoryOptions repo;
    private final String point;
    private final Path target;
    private final Path runDir;
    private final boolean json;

    LiveRestore(RepositoryOptions repo, String point, Path target, Path runDir, boolean json) {
        this.repo = repo;
        this.point = point;
        this.target = target;
        this.runDir = runDir;
        this.json = json;
    }

    int run() throws IOException, InterruptedException {
        if (repo.device == null) {
            throw new InvalidArgumentException("restore --live needs -d NAME: the device name the target is attached as");
        }
        long id;
        long pointSize;
        try (Repository r = repo.open(false)) {
            id = repo.pointOfAnyDevice(r, point);
            pointSize = r.points().get(id).meta().size();
        }
        ObjectNode args = ControlClient.args().put("device", repo.device)
                .put("path", target.toAbsolutePath().toString()).put("repo", RepositoryLocation.absolute(repo.repo))
                .put("point", id);
        repo.keys.putInto(args);
        boolean made = !Files.exists(target, LinkOption.NOFOLLOW_LINKS);
        if (made) {
            // a file target is made as plain restore makes it: sparse, the point's size
            try (FileChannel f = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                if (pointSize > 0) {
                    f.write(ByteBuffer.allocate(1), pointSize - 1);
                }
            }
        }
        JsonNode status;
        try {
            status = call("restore_live", args);
        } catch (IOException | RuntimeException e) {
            if (made) {
                Files.deleteIfExists(target);
            }
            throw e;
        }
        System.err.println("device " + repo.device + " attached (" + target + ")" + (status.path("resumed").asBoolean()
                ? ", resuming at " + status.path("restored_bytes").asLong() + " bytes" : "")
                + "; restoring point " + id + " in the background");
        long lastPercent = -1;
        while (status.path("state").asText().equals("running")) {
            long size = status.path("size").asLong();
            long percent = size == 0 ? 100 : status.path("restored_bytes").asLong() * 100 / size;
            if (percent != lastPercent) {
                System.err.println("restored " + status.path("restored_bytes").asLong() + " of " + size + " bytes ("
                        + percent + "%)");
                lastPercent = percent;
            }
            Thread.sleep(POLL_MILLIS);
            status = call("restore_status", ControlClient.args().put("device", repo.device));
        }
        ResultPrinter.print(System.out, (ObjectNode) status, json);
        if (!status.path("state").asText().equals("done")) {
            System.err.println("jblksnap: live restore of " + repo.device + " " + status.path("state").asText()
                    + (status.has("error") ? ": " + status.path("error").asText() : ""));
            return 1;
        }
        return 0;
    }

    /** One request on its own connection (a restore may run for hours). */
    private JsonNode call(String verb, ObjectNode args) throws IOException {
        try (ControlClient c = ControlClient.connect(runDir)) {
            return c.call(verb, args);
        }
    }
}
