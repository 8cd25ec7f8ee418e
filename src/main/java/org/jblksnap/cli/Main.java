package org.jblksnap.cli;

import org.jblksnap.Version;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The `jblksnap` command. */
@Command(name = "jblksnap", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = "Block-device snapshots for backup: change tracking, copy-on-write snapshots, images.",
        subcommands = {VersionCommand.class, DemoCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tL %4$s %3$s: %5$s%6$s%n");
        }
        System.exit(execute(args));
    }

    /** Runs a command line; errors are one line on stderr and a non-zero exit code. */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            line.getErr().println("jblksnap: " + Errors.describe(ex));
            return Errors.exitCode(ex);
        });
        return cl.execute(args);
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"jblksnap " + Version.VERSION};
        }
    }
}
