package org.jblksnap.repo;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The committed points, one object each ({@link PointFile}). How a point is committed, and why
 * by a link: {@code docs/REPOSITORY.md#crash-safety}.
 */
public final class PointStore {
    private static final String PREFIX = "points/";
    private static final String SUFFIX = ".point";
    /** Point files read at once by {@link #list()}. */
    private static final int READERS = 8;

    private final ObjectStore store;
    private final ObjectCodec codec;
    private final PointIds newIds = new PointIds(Clock.systemUTC());

    PointStore(ObjectStore store, ObjectCodec codec) {
        this.store = store;
        this.codec = codec;
    }

    /** The object name of a point. */
    public static String name(long id) {
        return PREFIX + id + SUFFIX;
    }

    /** The ids of the points present, ascending (which is not their order: {@link Point#OLDEST_FIRST}). */
    public List<Long> ids() throws IOException {
        List<Long> ids = new ArrayList<>();
        for (ObjectStore.Stored o : store.list(PREFIX)) {
            String name = o.name().substring(PREFIX.length());
            if (name.endsWith(SUFFIX) && name.length() > SUFFIX.length()
                    && name.chars().limit(name.length() - SUFFIX.length()).allMatch(Character::isDigit)) {
                ids.add(Long.parseLong(name.substring(0, name.length() - SUFFIX.length())));
            }
        }
        ids.sort(Comparator.naturalOrder());
        return ids;
    }

    /**
     * Every point, oldest first ({@link Point#OLDEST_FIRST}). A point removed between the listing and the read of its
     * metadata (a prune running beside) is left out: it is gone, and a backup that looks for
     * its device's last point must not fail for it.
     */
    public List<Point> list() throws IOException {
        List<Point> points = Collections.synchronizedList(new ArrayList<>());
        // a read each, at once: in a bucket the listing's time is theirs, one round trip each
        Parallel.forEach(READERS, ids(), id -> find(id).ifPresent(points::add));
        points.sort(Point.OLDEST_FIRST);
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
        return find(id).orElseThrow(() -> new RepositoryException("no point " + id + " in repository "
                + store.location()));
    }

    /** The point, or empty when there is none of that id (a prune may have removed it since a listing). */
    public Optional<Point> find(long id) throws IOException {
        try {
            return Optional.of(new Point(id, PointFile.readMeta(codec, store, name(id), id)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** The point's index, after checking its checksum. */
    public HashList index(Point p) throws IOException {
        return PointFile.readIndex(codec, store, name(p.id()), p.id(), p.meta());
    }

    /**
     * Makes a point durable and visible under a new id ({@link PointIds}), created only if
     * absent, so that a point never replaces another. The manifests and chunks it uses must be
     * durable already ({@link PackStore#flush()}).
     */
    long commit(PointMeta meta, HashList index) throws IOException {
        long id = newIds.next();
        while (!store.create(name(id), PointFile.encode(codec, id, meta, index))) {
            id = newIds.next(); // taken (a sealed point names its id: encoded again)
        }
        return id;
    }

    /** Removes a point, durably (what it uses stays until pruned). */
    void delete(long id) throws IOException {
        store.delete(name(id));
    }
}
