package org.jblksnap.cli;

import picocli.CommandLine;

/** Entry point of the `jblksnap` command. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.manager") == null) {
            System.setProperty("java.util.logging.manager", QuietShutdownLogManager.class.getName());
        }
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tL %4$s %3$s: %5$s%6$s%n");
        }
        System.exit(execute(args));
    }

    /** Runs a command line; errors are one line on stderr and a non-zero exit code. */
    public static int execute(String... args) {
        CommandLine cl = Verbs.commandLine(args.length > 0 && !args[0].startsWith("-") ? args[0] : null);
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            line.getErr().println("jblksnap: " + Errors.describe(ex));
            return Errors.exitCode(ex);
        });
        cl.setParameterExceptionHandler((ex, args1) -> {
            ex.getCommandLine().getErr().println("jblksnap: " + ex.getMessage() + " (see `"
                    + ex.getCommandLine().getCommandSpec().qualifiedName() + " -h`)");
            return Errors.USAGE;
        });
        return cl.execute(args);
    }
}
