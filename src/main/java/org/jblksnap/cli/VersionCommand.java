package org.jblksnap.cli;

import org.jblksnap.Version;

import picocli.CommandLine.Command;

/** `jblksnap version`. */
@Command(name = "version", mixinStandardHelpOptions = true, description = "Print the version.")
final class VersionCommand implements Runnable {
    @Override
    public void run() {
        System.out.println("version=" + Version.VERSION);
    }
}
