package org.jblksnap.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;

import org.jblksnap.error.InvalidArgumentException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run directory is the daemon's own: made 0700, or an existing one of its own; nothing else is touched. */
class RunDirTest {
    @TempDir
    Path dir;

    private static DaemonConfig at(Path runDir) {
        DaemonConfig c = new DaemonConfig();
        c.runDir = runDir;
        return c;
    }

    @Test
    void aSharedDirectoryIsRefusedAndKeepsItsMode() throws Exception {
        Path shared = Files.createDirectory(dir.resolve("tmp"));
        Files.setAttribute(shared, "unix:mode", 01777);
        Path foreign = Files.writeString(shared.resolve("someone-elses"), "data");
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> new Daemon(at(shared)).start());
        assertTrue(e.getMessage().contains("not the daemon's own"), e.getMessage());
        assertEquals(01777, (Integer) Files.getAttribute(shared, "unix:mode") & 07777, "mode unchanged");
        assertEquals("data", Files.readString(foreign));
        assertEquals(1, Files.list(shared).count(), "no socket or lock file was made there");
    }

    @Test
    void aDirectoryOfAnotherUserIsRefused() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root, to give a directory to nobody");
        Path theirs = Files.createDirectory(dir.resolve("theirs"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        UserPrincipal nobody = theirs.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        Files.setOwner(theirs, nobody);
        assertThrows(InvalidArgumentException.class, () -> new Daemon(at(theirs)).start());
        assertEquals(nobody, Files.getOwner(theirs));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(theirs)));
    }

    @Test
    void aNewDirectoryIsMadePrivateAndAnOwnOneIsAccepted() throws Exception {
        Path fresh = dir.resolve("a/run");
        Daemon.ownRunDir(fresh);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)));
        Files.setAttribute(fresh, "unix:mode", 0755);
        Daemon.ownRunDir(fresh); // its own, readable by others: accepted as it is
        assertEquals(0755, (Integer) Files.getAttribute(fresh, "unix:mode") & 07777);
    }
}
