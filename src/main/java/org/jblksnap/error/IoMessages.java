package org.jblksnap.error;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Readable reasons for file errors: the JDK's file system exceptions often carry the path
 * alone as their message ("/x/y"), which tells a user nothing.
 */
public final class IoMessages {
    private IoMessages() {
    }

    /** Why the operation failed, without the path: "permission denied", "not a directory", … */
    public static String reason(IOException e) {
        if (e instanceof FileSystemException f) {
            String r = f.getReason();
            if (r != null && !r.isBlank()) {
                return r.substring(0, 1).toLowerCase(java.util.Locale.ROOT) + r.substring(1);
            }
            return switch (f) {
                case NoSuchFileException n -> "no such file or directory";
                case AccessDeniedException a -> "permission denied";
                case FileAlreadyExistsException x -> "it exists already";
                case NotDirectoryException d -> "not a directory";
                case DirectoryNotEmptyException d -> "directory not empty";
                default -> f.getClass().getSimpleName();
            };
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.toString() : m;
    }

    /** "PATH: reason" (and " (OTHER)" when a second path is involved) for a file system error. */
    public static String describe(FileSystemException e) {
        String other = e.getOtherFile() == null ? "" : " (" + e.getOtherFile() + ")";
        return (e.getFile() == null ? "" : e.getFile() + other + ": ") + reason(e);
    }
}
