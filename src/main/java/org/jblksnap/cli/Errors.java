package org.jblksnap.cli;

import java.nio.file.FileSystemException;

import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.IoMessages;

/** One clear line and an exit code for an error of any command. */
final class Errors {
    /** Exit code of a command line that could not be parsed: EINVAL, like a bad argument. */
    static final int USAGE = 22;

    private Errors() {
    }

    static String describe(Throwable e) {
        if (e instanceof BlksnapException b) {
            return b.getMessage() + " (" + b.errno() + ")";
        }
        if (e instanceof FileSystemException f) {
            return IoMessages.describe(f);
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.toString() : m;
    }

    /** The errno of an engine error (as blksnap's tool exits with it), else 1. */
    static int exitCode(Throwable e) {
        return e instanceof BlksnapException b ? Math.min(b.errno().code(), 125) : 1;
    }
}
