package org.jblksnap.repo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The pack directories a commit must fsync before its point file exists, so that no committed
 * point can name an entry whose pack a crash then loses. A pack's content is fsynced by its
 * writer before its rename ({@link PackWriter#finish}), but a name created in a directory
 * survives a crash only once that directory is fsynced. Only a point relies on the names, so
 * the directories are noted as packs are finished or used and synced together at the commit
 * ({@link #syncAll}), one fsync each whatever the number of packs in them. A directory is
 * noted for each reason a pack name it holds may not be durable yet:
 *
 * <ul>
 * <li>this handle renamed a finished pack into {@code packs/XX}: {@code XX} holds a new name
 *     ({@link #finished});
 * <li>and {@code packs/} too, unless this handle already synced it since {@code XX} existed:
 *     {@code XX} may be new, made by this handle or by another writer that has not synced
 *     {@code packs/} yet (and may never: killed, or its backup failed), and without its name
 *     in {@code packs/} the whole {@code XX} can vanish;
 * <li>the point uses an entry found already stored, in a pack another process finished
 *     ({@link #used}): that process may have been killed before its own commit, or
 *     still be running, so it may never have synced {@code XX}, nor {@code packs/} if it made
 *     {@code XX}. Both are synced again for this commit.
 * </ul>
 *
 * Format and commit order: {@code docs/REPOSITORY.md#crash-safety}. Thread-safe.
 */
final class UnsyncedDirectories {
    // guarded by this
    private final Set<Path> dirs = new HashSet<>();
    /** Pack directories whose own name in {@code packs/} this handle made durable. */
    private final Set<Path> named = new HashSet<>();

    /** This handle renamed a finished pack to its final name ({@code packs/XX/ID.pack}). */
    synchronized void finished(Path pack, boolean madeDirectory) {
        Path dir = pack.getParent();
        dirs.add(dir);
        if (madeDirectory || !named.contains(dir)) {
            dirs.add(dir.getParent());
        }
    }

    /**
     * The point to be committed uses an entry found stored in this pack. When this handle is
     * the one writing it, its {@link #finished} comes before the commit anyway.
     */
    synchronized void used(Path pack) {
        if (dirs.add(pack.getParent())) {
            dirs.add(pack.getParent().getParent());
        }
    }

    /** fsyncs the directories noted since the last call, a directory before its parent. */
    synchronized void syncAll() throws IOException {
        List<Path> deepestFirst = new ArrayList<>(dirs);
        deepestFirst.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        for (Path d : deepestFirst) {
            AtomicFiles.syncDirectory(d);
            dirs.remove(d);
        }
        for (Path d : deepestFirst) {
            if (deepestFirst.contains(d.getParent())) {
                named.add(d); // its name in the parent is durable now
            }
        }
    }

    /** The directories the next {@link #syncAll} fsyncs (for tests and diagnostics). */
    synchronized Set<Path> pending() {
        return Set.copyOf(dirs);
    }
}
