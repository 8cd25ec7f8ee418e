package org.jblksnap.repo;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The committed points, one file each ({@link PointFile}). How a point is committed, and why
 * by a link: {@code docs/REPOSITORY.md#crash-safety}.
 */
public final class PointStore {
    private static final String SUFFIX = ".point";

    private final Path dir;

    PointStore(Path dir) {
        this.dir = dir;
    }

    public Path path(long id) {
        return dir.resolve(id + SUFFIX);
    }

    /** The ids of the point files present, ascending. */
    public List<Long> ids() throws IOException {
        List<Long> ids = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(SUFFIX) && name.length() > SUFFIX.length()
                        && name.chars().limit(name.length() - SUFFIX.length()).allMatch(Character::isDigit)) {
                    ids.add(Long.parseLong(name.substring(0, name.length() - SUFFIX.length())));
                }
            }
        }
        ids.sort(Comparator.naturalOrder());
        return ids;
    }

    /** Every point, oldest first. */
    public List<Point> list() throws IOException {
        List<Point> points = new ArrayList<>();
        for (long id : ids()) {
            points.add(get(id));
        }
        return points;
    }

    public List<Point> list(String device) throws IOException {
        return list().stream().filter(p -> p.meta().device().equals(device)).toList();
    }

    public Optional<Point> latest(String device) throws IOException {
        List<Point> l = list(device);
        return l.isEmpty() ? Optional.empty() : Optional.of(l.getLast());
    }

    public Point get(long id) throws IOException {
        try {
            return new Point(id, PointFile.readMeta(path(id)));
        } catch (NoSuchFileException e) {
            throw new RepositoryException("no point " + id + " in repository " + dir.getParent());
        }
    }

    /** The point's index, after checking its file's checksum. */
    public HashList index(Point p) throws IOException {
        return PointFile.readIndex(path(p.id()), p.meta());
    }

    /**
     * Makes a point durable and visible under a new id. The manifests and chunks it uses must
     * be durable already ({@link PackStore#flush()}).
     */
    long commit(PointMeta meta, HashList index) throws IOException {
        Path tmp = AtomicFiles.writeTemporary(dir, PointFile.encode(meta, index));
        try {
            List<Long> ids = ids();
            long id = ids.isEmpty() ? 1 : ids.getLast() + 1;
            while (true) {
                try {
                    Files.createLink(path(id), tmp);
                    break;
                } catch (FileAlreadyExistsException e) {
                    id++; // another backup committed this id meanwhile
                }
            }
            AtomicFiles.syncDirectory(dir);
            return id;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Removes a point (what it uses stays until pruned). */
    void delete(long id) throws IOException {
        Files.deleteIfExists(path(id));
    }

    void syncDirectory() throws IOException {
        AtomicFiles.syncDirectory(dir);
    }
}
