package org.jblksnap.device;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * The file of a listening Unix socket, made so that its presence means "accepting".
 *
 * <p>A server listens by bind(2), which makes the file, and then listen(2); a client that
 * connects between the two is refused (ECONNREFUSED). Scripts, tests and VM managers wait for the
 * socket file to appear and connect at once, so {@link #listen} binds at a hidden name beside the
 * path, listens, sets the permissions, and only then renames the file into place: rename(2) is
 * atomic and keeps the bound socket (a Unix socket is found by its inode, not its name).
 *
 * <p>What is at the path already is replaced only if it is a socket nobody listens on (one left
 * by a crash). Anything else (a disk image named by mistake, a directory, another server's
 * live socket) is refused and left as it is.
 */
public final class UnixSocketFile {
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private UnixSocketFile() {
    }

    /**
     * Listens at socket; what names the socket in messages ("NBD socket"). With permissions
     * non-null the file has exactly those before it appears at its path.
     */
    public static ServerSocketChannel listen(Path socket, String what, Set<PosixFilePermission> permissions)
            throws IOException {
        removeIfStale(socket, what);
        Path hidden = socket.resolveSibling("." + socket.getFileName() + "~");
        removeIfStale(hidden, what);
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(hidden));
            if (permissions != null) {
                Files.setPosixFilePermissions(hidden, permissions);
            }
            Files.move(hidden, socket, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            ch.close();
            Files.deleteIfExists(hidden);
            throw new IOException("cannot listen on " + socket + ": " + e.getMessage(), e);
        }
        return ch;
    }

    private static void removeIfStale(Path p, String what) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!isSocket(p)) {
            throw new FileAlreadyExistsException(p.toString(), null,
                    "exists and is not a socket; give the " + what + " a path of its own");
        }
        if (isListening(p)) {
            throw new IOException(what + " " + p + " is in use by another server");
        }
        Files.delete(p);
    }

    private static boolean isSocket(Path p) throws IOException {
        int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return (mode & S_IFMT) == S_IFSOCK;
    }

    private static boolean isListening(Path socket) {
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
