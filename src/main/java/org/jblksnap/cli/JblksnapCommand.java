package org.jblksnap.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import org.jblksnap.Version;
import org.jblksnap.control.ControlClient;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.params.Sizes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The `jblksnap` command. Its methods are the blksnap verbs, with the upstream tool's names,
 * options and output (README, "The blksnap verbs", lists what still differs), sent to the
 * daemon over its control socket; each prints key=value lines (JSON with -j), and an error is
 * one line on stderr and a non-zero exit (the errno). A device is a name or, as upstream names
 * it, a path. The other commands are classes of their own; {@link Verbs} adds the verbs.
 */
@Command(name = "jblksnap", mixinStandardHelpOptions = true, versionProvider = JblksnapCommand.VersionProvider.class,
        description = "Block-device snapshots for backup: change tracking, copy-on-write snapshots, images.",
        addMethodSubcommands = false)
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

    @Command(name = "version", mixinStandardHelpOptions = true,
            description = "Print the daemon's version (`jblksnap --version` prints this program's).")
    int version(@Mixin ClientOptions o) throws IOException {
        return call(o, "version", ControlClient.args());
    }

    @Command(name = "attach", mixinStandardHelpOptions = true,
            description = "Start tracking a device; one that is attached already is no error.")
    int attach(@Mixin ClientOptions o,
            @Option(names = {"-d", "--device"}, required = true,
                    description = "Device name, or the device's path (then named after its file name).") String device,
            @Option(names = {"-p", "--path"}, description = "Backing file or block device of a named device.") Path path)
            throws IOException {
        ObjectNode a = ControlClient.args().put("device", device(device));
        if (path != null) {
            a.put("path", path.toAbsolutePath().toString());
        }
        return call(o, "attach", a);
    }

    @Command(name = "detach", mixinStandardHelpOptions = true, description = "Stop tracking a device (its CBT is saved).")
    int detach(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device)
            throws IOException {
        return call(o, "detach", ControlClient.args().put("device", device(device)));
    }

    @Command(name = "cbtinfo", mixinStandardHelpOptions = true, description = "Print a device's change tracker info.")
    int cbtinfo(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device)
            throws IOException {
        return call(o, "cbtinfo", ControlClient.args().put("device", device(device)));
    }

    @Command(name = "tracker_collect", mixinStandardHelpOptions = true,
            description = "List the tracked devices with their change tracker info (blksnap 1's verb).")
    int trackerCollect(@Mixin ClientOptions o) throws IOException {
        return call(o, "tracker_collect", ControlClient.args());
    }

    @Command(name = "readcbtmap", mixinStandardHelpOptions = true,
            description = "Write a device's CBT map (one byte per block) to a file.")
    int readcbtmap(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device,
            @Option(names = {"-f", "--file"}, required = true, description = "Output file.") Path file)
            throws IOException {
        JsonNode r = request(o, "readcbtmap", ControlClient.args().put("device", device(device)));
        byte[] map = Base64.getDecoder().decode(r.path("map").asText());
        Files.write(file, map);
        ObjectNode shown = ((ObjectNode) r.deepCopy()).put("file", file.toString());
        shown.remove("map");
        ResultPrinter.print(out, shown, o.json);
        return 0;
    }

    /** markdirtyblock's two forms: ranges of a device, or a file whose extents are marked. */
    static final class DirtyBlocks {
        @Option(names = {"-r", "--ranges", "--range"}, required = true, arity = "1..*", paramLabel = "SECTOR:COUNT",
                description = "Sector ranges (512-byte sectors).")
        List<String> ranges;

        @Option(names = {"-f", "--file"}, required = true,
                description = "A file on a tracked device's file system: its extents (FIEMAP) are marked.")
        Path file;
    }

    @Command(name = "markdirtyblock", mixinStandardHelpOptions = true,
            description = "Mark sector ranges of a device, or a file's blocks, as changed.")
    int markdirtyblock(@Mixin ClientOptions o,
            @Option(names = {"-d", "--device"}, description = "The device (with -f, optional: checked).") String device,
            @ArgGroup(multiplicity = "1") DirtyBlocks what) throws IOException {
        ObjectNode a = ControlClient.args();
        if (device != null) {
            a.put("device", device(device));
        }
        if (what.file != null) {
            return call(o, "markdirtyblock", a.put("file", what.file.toAbsolutePath().toString()));
        }
        if (device == null) {
            throw new InvalidArgumentException("markdirtyblock -r needs the device (-d)");
        }
        ArrayNode rs = a.putArray("ranges");
        for (String r : what.ranges) {
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
            @Option(names = {"-d", "--device"}, arity = "1..*",
                    description = "Devices to include (`-d a b` or `-d a -d b`); a path not attached yet is attached.")
            List<String> devices,
            @Option(names = {"-f", "--file"}, required = true,
                    description = "Difference storage: a directory, a regular file or a block device.") Path storage,
            @Option(names = {"-l", "--limit"}, required = true, description = "Storage limit, e.g. 1G.") String limit)
            throws IOException {
        ObjectNode a = ControlClient.args().put("storage", storage.toAbsolutePath().toString())
                .put("limit", Sizes.parse("limit", limit));
        ArrayNode ds = a.putArray("devices");
        if (devices != null) {
            devices.forEach(d -> ds.add(device(d)));
        }
        JsonNode r = request(o, "snapshot_create", a);
        if (o.json) {
            ResultPrinter.print(out, r, true);
        } else {
            out.println(r.path("id").asText()); // the bare id, as upstream: ID=$(jblksnap snapshot_create ...)
        }
        return 0;
    }

    @Command(name = "snapshot_add", mixinStandardHelpOptions = true,
            description = "Add a device to a snapshot; a path not attached yet is attached.")
    int add(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id,
            @Option(names = {"-d", "--device"}, required = true) String device) throws IOException {
        return call(o, "snapshot_add", ControlClient.args().put("id", id).put("device", device(device)));
    }

    @Command(name = "snapshot_take", mixinStandardHelpOptions = true,
            description = "Take the snapshot: all its devices at one instant, their file systems frozen.")
    int take(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id,
            @Option(names = "--pre-take", paramLabel = "COMMAND",
                    description = "Shell command run by the daemon just before; if it fails, nothing is taken.") String preTake,
            @Option(names = "--post-take", paramLabel = "COMMAND",
                    description = "Shell command run by the daemon just after, whatever happened.") String postTake,
            @Option(names = "--hook-timeout", paramLabel = "SECONDS", description = "How long each hook may run.")
            Long hookTimeout) throws IOException {
        ObjectNode a = ControlClient.args().put("id", id);
        if (preTake != null) {
            a.put("pre_take", preTake);
        }
        if (postTake != null) {
            a.put("post_take", postTake);
        }
        if (hookTimeout != null) {
            a.put("hook_timeout_seconds", hookTimeout);
        }
        return call(o, "snapshot_take", a);
    }

    @Command(name = "snapshot_destroy", mixinStandardHelpOptions = true, description = "Destroy a snapshot.")
    int destroy(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id) throws IOException {
        return call(o, "snapshot_destroy", ControlClient.args().put("id", id));
    }

    @Command(name = "snapshot_collect", mixinStandardHelpOptions = true,
            description = "List the snapshot ids; with -i, that snapshot's storage, devices and images.")
    int collect(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, description = "One snapshot.") String id)
            throws IOException {
        if (id != null) {
            return call(o, "snapshot_collect", ControlClient.args().put("id", id));
        }
        JsonNode r = request(o, "snapshot_collect", ControlClient.args());
        if (o.json) {
            ResultPrinter.print(out, r, true);
            return 0;
        }
        // As upstream prints them: each id followed by a space, then an empty line.
        r.path("id").forEach(i -> out.println(i.asText() + " "));
        out.println();
        return 0;
    }

    @Command(name = "snapshot_info", mixinStandardHelpOptions = true,
            description = "Print the error code and image name of a device's snapshot, and its storage's usage.")
    int info(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device,
            @Option(names = {"-f", "--field"}, description = "Print only this field: image or error_code.") String field)
            throws IOException {
        JsonNode r = request(o, "snapshot_info", ControlClient.args().put("device", device(device)));
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

    @Command(name = "stretch_snapshot", mixinStandardHelpOptions = true,
            description = "Raise the limit of a snapshot's difference storage (after blksnap 1's verb).")
    int stretch(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id,
            @Option(names = {"-l", "--limit"}, required = true, description = "The new limit, e.g. 8G.") String limit)
            throws IOException {
        return call(o, "stretch_snapshot", ControlClient.args().put("id", id).put("limit", Sizes.parse("limit", limit)));
    }

    @Command(name = "loop", mixinStandardHelpOptions = true,
            description = "Attach a device's FUSE file (or its snapshot image's) to a loop device; prints /dev/loopN.")
    int loop(@Mixin ClientOptions o, @Option(names = {"-d", "--device"}, required = true) String device,
            @Option(names = "--image", description = "The device's snapshot image instead of the device.") boolean image)
            throws IOException {
        JsonNode r = request(o, "loop", ControlClient.args().put("device", device(device)).put("image", image));
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
        return call(o, "unloop", ControlClient.args().put("device", device(device)).put("image", image));
    }

    @Command(name = "snapshot_waitevent", mixinStandardHelpOptions = true,
            description = "Wait for the oldest event of a snapshot.")
    int waitevent(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id,
            @Option(names = {"-t", "--timeout"}, defaultValue = "1000", description = "Milliseconds.") long timeout)
            throws IOException {
        JsonNode r = request(o, "snapshot_waitevent", ControlClient.args().put("id", id).put("timeout_ms", timeout));
        printEvent(o, r);
        return 0;
    }

    @Command(name = "snapshot_watcher", mixinStandardHelpOptions = true,
            description = "Print a snapshot's events as they come, until it is corrupted or destroyed.")
    int watcher(@Mixin ClientOptions o, @Option(names = {"-i", "--id"}, required = true) String id) throws IOException {
        try (ControlClient c = ControlClient.connect(o.runDir())) {
            while (true) {
                JsonNode r = c.call("snapshot_waitevent", ControlClient.args().put("id", id).put("timeout_ms", 1000));
                String result = r.path("result").asText();
                if (result.equals("timeout")) {
                    continue;
                }
                printEvent(o, r);
                out.flush();
                if (result.equals("not found") || r.path("event").asText().equals("corrupted")) {
                    return 0;
                }
            }
        }
    }

    /** Prints a waitevent result; "not found" is a result like the others, as upstream prints it. */
    private void printEvent(ClientOptions o, JsonNode r) {
        ObjectNode shown = (ObjectNode) r.deepCopy();
        shown.remove("message");
        ResultPrinter.print(out, shown, o.json);
    }

    /** A device named by a relative path is made absolute: the daemon has another working directory. */
    private static String device(String device) {
        return device.indexOf('/') >= 0 ? Path.of(device).toAbsolutePath().toString() : device;
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
