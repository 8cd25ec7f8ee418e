package org.jblksnap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jblksnap.testutil.ChildProcess;
import org.jblksnap.testutil.JvmOptionsScript;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

/**
 * A run builds only the verb it names (Verbs), the launcher stops the JIT at C1 for the verbs
 * that only ask the daemon (scripts/jvm-limits, jvm_startup) and starts a verb with its
 * ahead-of-time cache (jvm_aot): start-up savings that must not change what a verb does or
 * slow down one that works in its own process.
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

    /**
     * The launcher's ahead-of-time cache (scripts/aot-cache trains it): the verb's own cache,
     * only while it is newer than the jar it was trained on; the training's output when asked;
     * and a cache the JVM cannot use says nothing on stdout, where a command's output goes.
     */
    @Test
    void aVerbStartsWithItsOwnCacheOnlyWhileItIsNewerThanTheJar(@TempDir Path root) throws Exception {
        Path jar = Files.createDirectories(root.resolve("target")).resolve("jblksnap.jar");
        Path cache = Files.createDirectories(root.resolve("target/aot")).resolve("points.aot");
        Files.write(cache, new byte[4096]); // not a cache the JVM can use
        Files.write(jar, new byte[1]);
        Files.setLastModifiedTime(jar, FileTime.from(Instant.now().minusSeconds(60)));
        Map<String, String> env = Map.of("JBLKSNAP_ROOT", root.toString());
        String options = JvmOptionsScript.run("jvm_aot", List.of("points", "--repo", "/r"), env);
        assertEquals("-XX:AOTCache=" + cache + " -Xlog:aot=off", options);
        assertEquals("", JvmOptionsScript.run("jvm_aot", List.of("restore", "--repo", "/r"), env), "no cache of its own");
        assertEquals("", JvmOptionsScript.run("jvm_aot", List.of(), env));
        assertEquals("", JvmOptionsScript.run("jvm_aot", List.of("points"), Map.of("JBLKSNAP_ROOT", root.toString(),
                "JBLKSNAP_JAVA_OPTS", "-Xmx1g -Xshare:off")), "the user's class-data options win");
        assertEquals("-XX:AOTCacheOutput=/t/verify.aot", JvmOptionsScript.run("jvm_aot", List.of("verify"),
                Map.of("JBLKSNAP_ROOT", root.toString(), "JBLKSNAP_AOT_OUTPUT", "/t/verify.aot")));
        List<String> java = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        java.addAll(List.of(options.split(" ")));
        java.add("-version");
        ChildProcess.Result r = ChildProcess.of(java).check();
        assertEquals("", r.out(), "an unusable cache is skipped silently");
        Files.setLastModifiedTime(jar, FileTime.from(Instant.now().plusSeconds(60)));
        assertEquals("", JvmOptionsScript.run("jvm_aot", List.of("points"), env), "a jar built after the cache");
    }
}
