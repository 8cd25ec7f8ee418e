package org.jblksnap.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.fuse.ReadOnlyMount;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** `jblksnap umount`: undoes `jblksnap mount`, also after the mounting process was killed. */
@Command(name = "umount", mixinStandardHelpOptions = true, description = "Undo `jblksnap mount DIR`.")
final class UmountCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR", description = "The directory given to `jblksnap mount`.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        if (!ReadOnlyMount.unmount(dir)) {
            throw new InvalidArgumentException("nothing was mounted at " + dir + " by jblksnap mount");
        }
        System.out.println("unmounted=" + dir.toAbsolutePath().normalize());
        return 0;
    }
}
