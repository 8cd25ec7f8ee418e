package org.jblksnap.cli;

import java.lang.reflect.Method;
import java.util.List;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;

/**
 * The verbs of `jblksnap` and the command line of one run. Picocli builds a verb's model by
 * reflection over its options when the verb is added, and at a JVM's start that runs in the
 * interpreter: the 36 verbs took about 0.65 s of every command, the root with one verb about
 * 0.3 s. So a run whose first word names a verb builds the root and that verb only; any other
 * run (no verb, an option such as --version, `help`, a word that is no verb) builds them all,
 * for the listing, `help VERB` and the suggestions for a mistyped verb. Either way the verb's
 * parsing, usage and errors are the same: they are its own model's.
 */
final class Verbs {
    /** Verbs that are classes, in the order the usage lists them. */
    private static final List<Class<?>> CLASSES = List.of(HelpCommand.class, DemoCommand.class, DaemonCommand.class,
            BackupCommand.class, RestoreCommand.class, VerifyCommand.class, PruneCommand.class, CopyCommand.class,
            PointsCommand.class, ServeCommand.class, InitCommand.class, KeyCommand.class, MountCommand.class,
            UmountCommand.class);
    /** Classes whose @Command methods are verbs (the blksnap verbs, the jobs'). */
    private static final List<Class<?>> METHOD_HOLDERS = List.of(JblksnapCommand.class, JobVerbs.class);

    private Verbs() {
    }

    /**
     * The root command with the verb that first (the run's first word, null when it has none
     * or it is an option) names, or with every verb when it names none or is `help`, which
     * needs the others.
     */
    static CommandLine commandLine(String first) {
        String only = "help".equals(first) ? null : first;
        CommandLine root = new CommandLine(new JblksnapCommand());
        for (Class<?> c : CLASSES) {
            if (only == null || isNamed(c.getAnnotation(Command.class), only)) {
                root.addSubcommand(new CommandLine(c));
            }
        }
        for (Class<?> holder : METHOD_HOLDERS) {
            for (Method m : CommandLine.getCommandMethods(holder, null)) {
                if (only == null || isNamed(m.getAnnotation(Command.class), only)) {
                    root.addSubcommand(new CommandLine(m));
                }
            }
        }
        return root.getSubcommands().isEmpty() ? commandLine(null) : root;
    }

    private static boolean isNamed(Command c, String word) {
        return c.name().equals(word) || List.of(c.aliases()).contains(word);
    }
}
