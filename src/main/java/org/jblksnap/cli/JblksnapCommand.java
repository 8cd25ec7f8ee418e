package org.jblksnap.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import org.jblksnap.control.ControlClient;
import org.jblksnap.control.ControlException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.jblksnap.Version;
import org.jblksnap.params.Sizes;

import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The `jblksnap` command. Its methods are the blksnap verbs, with the upstream tool's names
 * and options, sent to the daemon over its control socket; each prints key=value lines (JSON
 * with -j), and an error is one line on stderr and a non-zero exit (the errno). The other
 * commands are classes of their own.
 */
@Command(name = "jblksnap", mixinStandardHelpOptions = true, versionProvider = JblksnapCommand.VersionProvider.class,
        description = "Block-device snapshots for backup: change tracking, copy-on-write snapshots, images.",
        subcommands = {VersionCommand.class, DemoCommand.class, DaemonCommand.class, BackupCommand.class,
                RestoreCommand.class, VerifyCommand.class, PruneCommand.class, PointsCommand.class, ServeCommand.class})
final class JblksnapCommand implements Runnable {
    private final PrintStream out = System.out;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(out);
    }

    static final class VersionProvider implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"jblksnap " + Version.VERSION};
        }
    }

    @Command(name = "attach", mixinStandardHelpOptions = true, description = "Start tracking a device.")
    int attach(@Mixin ClientOptions o,
            @Option(names = {"-d", "--device"}, required = true, description = "Device name.") String device,
            @Option(names = {"-p", "--path"}, required = true, description = "Backing file or block device.") Path path)
            throws IOException {
        return call(o, "attach", ControlClient.args().put("device", device).put("path", path.toAbsolutePath().toString()));
    }

    @Command(name = "detach", mixinStandardHelpOptions = true, description = "Stop tracking a device (its CBT is saved).")
    int detach(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device)
            throws IOException {
        return call(o, "detach", ControlClient.args().put("device", device));
    }

    @Command(name = "cbtinfo", mixinStandardHelpOptions = true, description = "Print a device's change tracker info.")
    int cbtinfo(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device)
            throws IOException {
        return call(o, "cbtinfo", ControlClient.args().put("device", device));
    }

    @Command(name = "readcbtmap", mixinStandardHelpOptions = true,
            description = "Write a device's CBT map (one byte per block) to a file.")
    int readcbtmap(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device,
            @Option(names = {"-f", "--file"}, required = true, description = "Output file.") Path file)
            throws IOException {
        JsonNode r = request(o, "readcbtmap", ControlClient.args().put("device", device));
        byte[] map = Base64.getDecoder().decode(r.path("map").asText());
        Files.write(file, map);
        ObjectNode shown = ((ObjectNode) r.deepCopy()).put("file", file.toString());
        shown.remove("map");
        ResultPrinter.print(out, shown, o.json);
        return 0;
    }

    @Command(name = "markdirtyblock", mixinStandardHelpOptions = true,
            description = "Mark sector ranges of a device as changed.")
    int markdirtyblock(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device,
            @Option(names = {"-r", "--range"}, required = true, arity = "1..*", paramLabel = "SECTOR:COUNT") List<String> ranges)
            throws IOException {
        ObjectNode a = ControlClient.args().put("device", device);
        ArrayNode rs = a.putArray("ranges");
        for (String r : ranges) {
            String[] p = r.split(":");
            try {
                if (p.length != 2) {
                    throw new NumberFormatException();
                }
                rs.addArray().add(Long.parseLong(p[0].trim())).add(Long.parseLong(p[1].trim()));
            } catch (NumberFormatException e) {
                throw new InvalidArgumentException("bad range '" + r + "': use SECTOR:COUNT in 512-byte sectors");
            }
        }
        return call(o, "markdirtyblock", a);
    }

    @Command(name = "snapshot_create", mixinStandardHelpOptions = true,
            description = "Create a snapshot with a difference storage; prints its id.")
    int create(@Mixin ClientOptions o,
            @Option(names = {"-d", "--device"}, description = "Device to include (repeatable).") List<String> devices,
            @Option(names = {"-f", "--file"}, required = true,
                    description = "Difference storage: a directory, a regular file or a block device.") Path storage,
            @Option(names = {"-l", "--limit"}, required = true, description = "Storage limit, e.g. 1G.") String limit)
            throws IOException {
        ObjectNode a = ControlClient.args().put("storage", storage.toAbsolutePath().toString())
                .put("limit", Sizes.parse("limit", limit));
        ArrayNode ds = a.putArray("devices");
        if (devices != null) {
            devices.forEach(ds::add);
        }
        return call(o, "snapshot_create", a);
    }

    @Command(name = "snapshot_add", mixinStandardHelpOptions = true, description = "Add a device to a snapshot.")
    int add(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id,
            @Option(names = {"-d", "--device"}, required = true) String device) throws IOException {
        return call(o, "snapshot_add", ControlClient.args().put("id", id).put("device", device));
    }

    @Command(name = "snapshot_take", mixinStandardHelpOptions = true,
            description = "Take the snapshot: all its devices at one instant.")
    int take(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id) throws IOException {
        return call(o, "snapshot_take", ControlClient.args().put("id", id));
    }

    @Command(name = "snapshot_destroy", mixinStandardHelpOptions = true, description = "Destroy a snapshot.")
    int destroy(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id) throws IOException {
        return call(o, "snapshot_destroy", ControlClient.args().put("id", id));
    }

    @Command(name = "snapshot_collect", mixinStandardHelpOptions = true, description = "List the snapshot ids.")
    int collect(@Mixin ClientOptions o) throws IOException {
        return call(o, "snapshot_collect", ControlClient.args());
    }

    @Command(name = "snapshot_info", mixinStandardHelpOptions = true,
            description = "Print the error code and image name of a device's snapshot.")
    int info(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device,
            @Option(names = {"-f", "--field"}, description = "Print only this field: image or error_code.") String field)
            throws IOException {
        JsonNode r = request(o, "snapshot_info", ControlClient.args().put("device", device));
        if (field != null) {
            if (!r.has(field)) {
                throw new InvalidArgumentException("unknown field '" + field + "': use image or error_code");
            }
            out.println(r.get(field).asText());
            return 0;
        }
        ResultPrinter.print(out, r, o.json);
        return 0;
    }

    @Command(name = "loop", mixinStandardHelpOptions = true,
            description = "Attach a device's FUSE file (or its snapshot image's) to a loop device; prints /dev/loopN.")
    int loop(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device,
            @Option(names = "--image", description = "The device's snapshot image instead of the device.") boolean image)
            throws IOException {
        JsonNode r = request(o, "loop", ControlClient.args().put("device", device).put("image", image));
        if (o.json) {
            ResultPrinter.print(out, r, true);
        } else {
            out.println(r.path("loop").asText()); // like losetup --show
        }
        return 0;
    }

    @Command(name = "unloop", mixinStandardHelpOptions = true, description = "Detach the loop device set up by loop.")
    int unloop(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device,
            @Option(names = "--image", description = "The snapshot image's loop device.") boolean image) throws IOException {
        return call(o, "unloop", ControlClient.args().put("device", device).put("image", image));
    }

    @Command(name = "snapshot_waitevent", mixinStandardHelpOptions = true,
            description = "Wait for the oldest event of a snapshot.")
    int waitevent(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id,
            @Option(names = {"-t", "--timeout"}, defaultValue = "1000", description = "Milliseconds.") long timeout)
            throws IOException {
        try (ControlClient c = ControlClient.connect(o.runDir())) {
            return printEvent(o, c.call("snapshot_waitevent", ControlClient.args().put("id", id).put("timeout_ms", timeout)));
        }
    }

    @Command(name = "snapshot_watcher", mixinStandardHelpOptions = true,
            description = "Print a snapshot's events as they come, until it is destroyed.")
    int watcher(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id) throws IOException {
        try (ControlClient c = ControlClient.connect(o.runDir())) {
            while (true) {
                JsonNode r = c.call("snapshot_waitevent", ControlClient.args().put("id", id).put("timeout_ms", 1000));
                String result = r.path("result").asText();
                if (result.equals("timeout")) {
                    continue;
                }
                if (result.equals("not found")) {
                    out.println("result=not found");
                    return 0;
                }
                printEvent(o, r);
                out.flush();
            }
        }
    }

    /** Prints a waitevent result; "not found" is also an error line and the ENOENT exit. */
    private int printEvent(ClientOptions o, JsonNode r) {
        ObjectNode shown = (ObjectNode) r.deepCopy();
        String message = shown.path("message").asText(null);
        shown.remove("message");
        ResultPrinter.print(out, shown, o.json);
        if (r.path("result").asText().equals("not found")) {
            throw new ControlException(Errno.ENOENT, message);
        }
        return 0;
    }

    private JsonNode request(ClientOptions o, String verb, ObjectNode args) throws IOException {
        try (ControlClient c = ControlClient.connect(o.runDir())) {
            return c.call(verb, args);
        }
    }

    private int call(ClientOptions o, String verb, ObjectNode args) throws IOException {
        ResultPrinter.print(out, request(o, verb, args), o.json);
        return 0;
    }
}
