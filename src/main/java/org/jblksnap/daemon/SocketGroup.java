package org.jblksnap.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalNotFoundException;

import org.jblksnap.error.InvalidArgumentException;

/**
 * Lets one group reach the NBD socket and nobody else: the socket becomes 0660 of that group,
 * and the run directory 0710 of that group, so its members may pass through it to the socket
 * but not list it (control.sock stays 0600, the daemon's alone). Done after binding, while the
 * run directory is still 0700, so there is no moment when others could connect.
 */
final class SocketGroup {
    private SocketGroup() {
    }

    static void grant(Path runDir, Path socket, String group) throws IOException {
        GroupPrincipal g;
        try {
            g = socket.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
        } catch (UserPrincipalNotFoundException e) {
            throw new InvalidArgumentException("--nbd-socket-group: no group named '" + group + "'");
        }
        Files.getFileAttributeView(socket, PosixFileAttributeView.class).setGroup(g);
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
        Files.getFileAttributeView(runDir, PosixFileAttributeView.class).setGroup(g);
        Files.setPosixFilePermissions(runDir, PosixFilePermissions.fromString("rwx--x---"));
    }
}
