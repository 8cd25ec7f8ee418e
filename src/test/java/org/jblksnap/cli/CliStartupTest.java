package org.jblksnap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jblksnap.testutil.JvmOptionsScript;
import org.junit.jupiter.api.Test;

import picocli.CommandLine;

/**
 * A run builds only the verb it names (Verbs), and the launcher stops the JIT at C1 for the
 * verbs that only ask the daemon (scripts/jvm-limits, jvm_startup): both are start-up savings
 * that must not change what a verb does or slow down one that works in its own process.
 */
class CliStartupTest {
    private static final String C1_ONLY = "-XX:TieredStopAtLevel=1";

    @Test
    void aRunThatNamesAVerbBuildsThatVerbAloneWithTheSameUsage() {
        Map<String, CommandLine> all = Verbs.commandLine(null).getSubcommands();
        assertEquals(36, all.size(), "the verbs: " + all.keySet());
        for (var verb : all.entrySet()) {
            if (verb.getKey().equals("help")) {
                continue;
            }
            Map<String, CommandLine> one = Verbs.commandLine(verb.getKey()).getSubcommands();
            assertEquals(Set.of(verb.getKey()), one.keySet());
            assertEquals(verb.getValue().getUsageMessage(CommandLine.Help.Ansi.OFF),
                    one.get(verb.getKey()).getUsageMessage(CommandLine.Help.Ansi.OFF), verb.getKey());
        }
    }

    @Test
    void helpAWordThatIsNoVerbAndNoWordBuildEveryVerb() {
        int all = Verbs.commandLine(null).getSubcommands().size();
        assertEquals(all, Verbs.commandLine("help").getSubcommands().size());
        assertEquals(all, Verbs.commandLine("bakup").getSubcommands().size());
    }

    @Test
    void onlyTheVerbsThatAskTheDaemonStopTheJitAtC1() throws Exception {
        for (var verb : Verbs.commandLine(null).getSubcommands().entrySet()) {
            boolean asksTheDaemon = verb.getValue().getCommandSpec().userObject() instanceof Method
                    || verb.getKey().equals("backup");
            assertEquals(asksTheDaemon ? C1_ONLY : "", JvmOptionsScript.run("jvm_startup", List.of(verb.getKey())),
                    verb.getKey());
        }
        assertEquals(C1_ONLY, JvmOptionsScript.run("jvm_startup", List.of("backup", "-d", "disk0", "--repo", "/r")));
        assertEquals("", JvmOptionsScript.run("jvm_startup", List.of("backup", "-d", "vm", "--repo", "/r",
                "--source", "nbd://127.0.0.1/vm")));
        assertEquals("", JvmOptionsScript.run("jvm_startup", List.of("backup", "--source=nbd://127.0.0.1/vm")));
        assertEquals("", JvmOptionsScript.run("jvm_startup", List.of()));
    }
}
