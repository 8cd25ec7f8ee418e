package org.jblksnap.testutil;

import java.util.ArrayList;
import java.util.List;

/** What scripts/jvm-limits, which ./jblksnap sources, prints for a command's arguments. */
public final class JvmOptionsScript {
    private JvmOptionsScript() {
    }

    /** The output of the script's function (jvm_limits or jvm_startup) for these arguments, stripped. */
    public static String run(String function, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", ". scripts/jvm-limits && " + function + " \"$@\"", "_"));
        cmd.addAll(args);
        return ChildProcess.of(cmd).check().out().strip();
    }
}
