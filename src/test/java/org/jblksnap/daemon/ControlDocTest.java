package org.jblksnap.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jblksnap.control.ControlClient;
import org.jblksnap.control.ControlException;
import org.jblksnap.error.Errno;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** docs/CONTROL.md names exactly the verbs a running daemon answers, each under its own heading. */
class ControlDocTest {
    private static final Pattern HEADING = Pattern.compile("^### `([a-z_]+)`$", Pattern.MULTILINE);

    @TempDir
    Path dir;

    @Test
    void everyVerbTheDaemonAnswersIsDocumented() throws Exception {
        DaemonConfig config = new DaemonConfig();
        config.runDir = dir.resolve("run");
        Set<String> answered;
        try (Daemon daemon = new Daemon(config)) {
            daemon.start();
            try (ControlClient c = ControlClient.connect(daemon.runDir())) {
                ControlException e = assertThrows(ControlException.class, () -> c.call("no_such_verb", ControlClient.args()));
                assertEquals(Errno.EINVAL, e.errno());
                String message = e.getMessage();
                assertTrue(message.contains("known: "), message);
                answered = new TreeSet<>(Arrays.asList(message.substring(message.indexOf("known: ") + 7).split(", ")));
            }
        }
        Set<String> documented = new TreeSet<>();
        Matcher m = HEADING.matcher(Files.readString(Path.of("docs/CONTROL.md")));
        while (m.find()) {
            documented.add(m.group(1));
        }
        assertTrue(answered.contains("snapshot_take") && answered.contains("loop"), answered.toString());
        assertEquals(answered, documented, "docs/CONTROL.md documents every verb the daemon answers, and no other");
    }
}
