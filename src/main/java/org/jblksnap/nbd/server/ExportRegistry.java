package org.jblksnap.nbd.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * The exports by name, and the connections using each. Removing an export ends its
 * connections cleanly: requests in flight finish, later ones get ESHUTDOWN, and the
 * connection closes (see {@link User#exportRemoved} and {@link Connection}).
 */
public final class ExportRegistry {
    private static final Logger LOG = Logger.getLogger(ExportRegistry.class.getName());

    /** A user of an export that must end when the export goes. */
    interface User {
        void exportRemoved(String name);
    }

    private final Map<String, Export> exports = new LinkedHashMap<>();
    private final Map<String, Set<User>> users = new LinkedHashMap<>();

    /** Adds an export; refused when one of the same name exists. */
    public void add(Export export) {
        synchronized (this) {
            if (exports.containsKey(export.name())) {
                throw new IllegalArgumentException("an export named '" + export.name() + "' already exists");
            }
            exports.put(export.name(), export);
            users.put(export.name(), ConcurrentHashMap.newKeySet());
        }
        LOG.fine(() -> "export added: " + export);
    }

    /** Removes the export and ends its connections; false when there was none of that name. */
    public boolean remove(String name) {
        Set<User> ending;
        synchronized (this) {
            if (exports.remove(name) == null) {
                return false;
            }
            ending = users.remove(name);
        }
        for (User u : ending) {
            u.exportRemoved(name);
        }
        LOG.fine(() -> "export removed: " + name + " (" + ending.size() + " connections ended)");
        return true;
    }

    public synchronized List<String> names() {
        return new ArrayList<>(exports.keySet());
    }

    public synchronized Optional<Export> get(String name) {
        return Optional.ofNullable(exports.get(name));
    }

    synchronized List<Export> all() {
        return new ArrayList<>(exports.values());
    }

    /** Registers a user of the export; null when the export is gone (nothing registered then). */
    synchronized Export attach(String name, User user) {
        Export e = exports.get(name);
        if (e != null) {
            users.get(name).add(user);
        }
        return e;
    }

    synchronized void detach(String name, User user) {
        Set<User> s = users.get(name);
        if (s != null) {
            s.remove(user);
        }
    }
}
