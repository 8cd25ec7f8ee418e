package org.jblksnap.testutil;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What scripts/jvm-limits, which ./jblksnap sources, prints for a command's arguments. */
public final class JvmOptionsScript {
    private JvmOptionsScript() {
    }

    /** The output of the script's function (jvm_limits, jvm_startup or jvm_aot) for these arguments, stripped. */
    public static String run(String function, List<String> args) throws Exception {
        return run(function, args, Map.of());
    }

    /** The same, with these variables in the script's environment. */
    public static String run(String function, List<String> args, Map<String, String> environment) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", ". scripts/jvm-limits && " + function + " \"$@\"", "_"));
        cmd.addAll(args);
        ChildProcess script = ChildProcess.of(cmd);
        environment.forEach(script::env);
        return script.check().out().strip();
    }
}
