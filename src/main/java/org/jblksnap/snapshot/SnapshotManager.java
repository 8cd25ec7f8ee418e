package org.jblksnap.snapshot;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

import org.jblksnap.cbt.CbtInfo;
import org.jblksnap.cbt.CbtMap;
import org.jblksnap.cbt.CbtState;
import org.jblksnap.cbt.CbtStore;
import org.jblksnap.device.BlockDevice;
import org.jblksnap.diff.DiffStorage;
import org.jblksnap.error.DeviceAlreadyAttachedException;
import org.jblksnap.error.DeviceBusyException;
import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.NoDevicesException;
import org.jblksnap.error.NoSuchDeviceException;
import org.jblksnap.error.NoSuchSnapshotException;
import org.jblksnap.error.SnapshotAlreadyTakenException;
import org.jblksnap.error.SnapshotNotTakenException;
import org.jblksnap.error.StorageException;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.tracker.Tracker;

/**
 * The engine: tracked devices and snapshots, with the operations of blksnap's control
 * interface. Every state change holds this object's monitor, so control operations are
 * serialised; the I/O paths (tracker writes, image reads and writes) never take it. The take
 * and destroy protocols and the lock order are in the package doc.
 */
public final class SnapshotManager implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SnapshotManager.class.getName());
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+-]{0,127}");

    /**
     * What front ends (NBD, FUSE) hear of devices and images coming and going. Calls run under
     * the manager's monitor, in the order of the changes, and must not block.
     */
    public interface Listener {
        default void deviceAttached(Tracker tracker) {
        }

        /** Before the tracker is closed. */
        default void deviceDetaching(Tracker tracker) {
        }

        default void imageCreated(SnapshotImage image) {
        }

        /** Before the image is closed; I/O on it fails from then on. */
        default void imageDestroying(SnapshotImage image) {
        }
    }

    private final Params params;
    private final CbtStore cbtStore;
    private final Map<String, Tracker> trackers = new LinkedHashMap<>();
    private final Map<UUID, Snapshot> snapshots = new LinkedHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    /** An engine whose CBT maps die with it, like blksnap's. */
    public SnapshotManager(Params params) {
        this(params, CbtStore.NONE);
    }

    /** An engine that saves CBT maps at detach and takes them back at attach. */
    public SnapshotManager(Params params, CbtStore cbtStore) {
        this.params = params;
        this.cbtStore = cbtStore;
    }

    public Params params() {
        return params;
    }

    /** A listener's registration; closing it ends the listener's calls. */
    public interface Subscription extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Registers a listener and, under this monitor, tells it of every device attached and every
     * image that exists now, so it misses none and hears of none twice. Its calls run under
     * this monitor too (see the lock order in the package doc): they must not block.
     */
    public synchronized Subscription subscribe(Listener listener) {
        listeners.add(listener);
        for (Tracker t : trackers.values()) {
            listener.deviceAttached(t);
        }
        for (Snapshot s : snapshots.values()) {
            for (SnapshotImage i : s.images().values()) {
                listener.imageCreated(i);
            }
        }
        return () -> listeners.remove(listener);
    }

    // ---- devices ----

    /**
     * Starts tracking a device. The CBT store's saved map is taken over when it can be trusted;
     * otherwise a new generation starts.
     */
    public synchronized Tracker attach(String name, Path path) throws IOException {
        checkName(name);
        if (trackers.containsKey(name)) {
            throw new DeviceAlreadyAttachedException("device " + name + " is already attached (" + trackers.get(name).device().path() + ")");
        }
        for (Tracker t : trackers.values()) {
            if (BlockDevice.sameFile(t.device().path(), path)) {
                throw new DeviceAlreadyAttachedException(path + " is already attached as device " + t.name());
            }
        }
        for (Snapshot s : snapshots.values()) {
            if (BlockDevice.sameFile(s.storage().path(), path)) {
                throw new DeviceBusyException(path + " holds the difference storage of snapshot " + s.id());
            }
        }
        BlockDevice device = BlockDevice.open(path);
        CbtMap cbt;
        try {
            CbtState saved = cbtStore.claim(name, path, device.capacity(), params.trackingBlockShift(device.capacity()));
            cbt = saved != null ? CbtMap.restore(saved) : new CbtMap(device.capacity(), params);
        } catch (IOException e) {
            device.close();
            throw e;
        } catch (RuntimeException e) {
            device.close();
            throw new InvalidArgumentException("device " + name + ": " + e.getMessage());
        }
        Tracker tracker = new Tracker(name, device, cbt);
        trackers.put(name, tracker);
        LOG.info(() -> "attached " + name + " = " + path + " (" + device.capacity() + " bytes, CBT generation "
                + cbt.generation() + ", changes number " + cbt.previous() + ")");
        tell(l -> l.deviceAttached(tracker), "attach of " + name);
        return tracker;
    }

    /**
     * Stops tracking: writes in flight drain and are flushed, then the CBT map is saved.
     * Refused while the device is in a snapshot. Returns the final CBT state.
     */
    public synchronized CbtState detach(String name) throws IOException {
        Tracker t = tracker(name);
        Snapshot s = snapshotOf(name);
        if (s != null) {
            throw new DeviceBusyException("device " + name + " is in snapshot " + s.id() + "; destroy it first");
        }
        tell(l -> l.deviceDetaching(t), "detach of " + name);
        trackers.remove(name);
        IOException notDurable = null;
        try {
            t.close();
        } catch (IOException e) {
            notDurable = e; // detached all the same; the map still covers every write
        }
        CbtState state = t.cbt().state();
        cbtStore.save(name, t.device().path(), state);
        if (notDurable != null) {
            throw new EngineIOException(Errno.EIO, "device " + name + " is detached, but its writes could not all be"
                    + " made durable: " + notDurable.getMessage(), notDurable);
        }
        LOG.info(() -> "detached " + name);
        return state;
    }

    public synchronized Tracker tracker(String name) {
        Tracker t = trackers.get(name);
        if (t == null) {
            throw new NoSuchDeviceException("no device named '" + name + "' is attached");
        }
        return t;
    }

    public synchronized List<Tracker> trackers() {
        return List.copyOf(trackers.values());
    }

    public CbtInfo cbtInfo(String name) {
        return tracker(name).cbt().info();
    }

    /** The readable CBT map, count blocks from block first. */
    public byte[] readCbtMap(String name, int first, int count) {
        return tracker(name).cbt().readReadable(first, count);
    }

    /** markdirtyblock: ranges of {sector, count} in 512-byte sectors. */
    public synchronized void markDirty(String name, List<long[]> sectorRanges) {
        CbtMap cbt = tracker(name).cbt();
        for (long[] r : sectorRanges) {
            if (r[0] < 0 || r[1] < 0 || r[0] > (Long.MAX_VALUE >> Params.SECTOR_SHIFT)
                    || r[1] > (Long.MAX_VALUE >> Params.SECTOR_SHIFT)) {
                throw new InvalidArgumentException("bad sector range " + r[0] + ":" + r[1]);
            }
            BlockDevice.checkRange(r[0] << Params.SECTOR_SHIFT, r[1] << Params.SECTOR_SHIFT, cbt.capacity(),
                    "markdirtyblock on " + name);
        }
        for (long[] r : sectorRanges) {
            cbt.markDirty(r[0] << Params.SECTOR_SHIFT, r[1] << Params.SECTOR_SHIFT);
        }
    }

    // ---- snapshots ----

    /** snapshot_create: checks everything first, so a refused create leaves no trace. */
    public synchronized UUID create(Path storagePath, long limit, List<String> deviceNames) throws IOException {
        List<Tracker> add = new ArrayList<>();
        for (String n : deviceNames) {
            Tracker t = tracker(n);
            checkFree(t);
            if (add.contains(t)) {
                throw new InvalidArgumentException("device " + n + " is named twice");
            }
            add.add(t);
        }
        DiffStorage.Kind kind = DiffStorage.check(storagePath, limit);
        if (kind != DiffStorage.Kind.TEMP_FILE) {
            for (Tracker t : trackers.values()) {
                if (BlockDevice.sameFile(t.device().path(), storagePath)) {
                    throw new StorageException(Errno.EINVAL, "difference storage " + storagePath
                            + " is the tracked device " + t.name());
                }
            }
            for (Snapshot s : snapshots.values()) {
                if (BlockDevice.sameFile(s.storage().path(), storagePath)) {
                    throw new StorageException(Errno.EBUSY, "difference storage " + storagePath
                            + " is already used by snapshot " + s.id());
                }
            }
        }
        UUID id = UUID.randomUUID();
        Snapshot s = new Snapshot(id, storagePath, limit, params);
        for (Tracker t : add) {
            s.add(t);
        }
        snapshots.put(id, s);
        LOG.info(() -> "snapshot " + id + " created, storage " + s.storage().path() + " (" + kind + "), limit " + limit);
        return id;
    }

    /** snapshot_add (blksnap_snapshot_append). */
    public synchronized void add(UUID id, String deviceName) {
        Snapshot s = snapshot(id);
        Tracker t = tracker(deviceName);
        if (s.state() != Snapshot.State.CREATED) {
            throw new SnapshotAlreadyTakenException("snapshot " + id + " is already taken; devices can only be added before take");
        }
        if (s.contains(deviceName)) {
            throw new DeviceBusyException("device " + deviceName + " is already in snapshot " + id);
        }
        checkFree(t);
        s.add(t);
    }

    /** snapshot_take: all devices of the snapshot at one instant. */
    public void take(UUID id) {
        take(id, null);
    }

    /**
     * snapshot_take with a hook that runs at the instant itself, while every device is frozen
     * and the CBT is switched (tests use it to copy the devices as they are at take).
     */
    public synchronized void take(UUID id, Runnable atInstant) {
        Snapshot s = snapshot(id);
        if (s.state() == Snapshot.State.TAKEN) {
            throw new SnapshotAlreadyTakenException("snapshot " + id + " is already taken");
        }
        if (s.deviceNames().isEmpty()) {
            throw new NoDevicesException("snapshot " + id + " has no devices; add one with snapshot_add first");
        }
        List<Tracker> frozen = new ArrayList<>();
        List<SnapshotImage> images;
        try {
            for (Tracker t : s.trackers()) {
                t.freeze();
                frozen.add(t);
            }
            images = s.takeWhileFrozen(params);
            if (atInstant != null) {
                atInstant.run();
            }
        } finally {
            for (Tracker t : frozen) {
                t.thaw();
            }
        }
        LOG.info(() -> "snapshot " + id + " taken: " + s.deviceNames());
        for (SnapshotImage image : images) {
            tell(l -> l.imageCreated(image), "image " + image.name());
        }
    }

    /**
     * snapshot_destroy: images gone, storage freed; the devices stay tracked. The images are
     * closed (their I/O drained) before COW is turned off, so no image read can see a device
     * write made after take; and the teardown completes whatever a listener does.
     */
    public synchronized void destroy(UUID id) throws IOException {
        Snapshot s = snapshot(id);
        snapshots.remove(id);
        for (SnapshotImage image : s.images().values()) {
            tell(l -> l.imageDestroying(image), "destroy of image " + image.name());
        }
        try {
            for (SnapshotImage image : s.images().values()) {
                image.close();
            }
        } finally {
            try {
                for (Tracker t : s.trackers()) {
                    t.freeze();
                    try {
                        t.setCowWhileFrozen(null);
                    } finally {
                        t.thaw();
                    }
                }
            } finally {
                s.storage().close();
            }
        }
        LOG.info(() -> "snapshot " + id + " destroyed");
    }

    /** snapshot_collect: the ids of every snapshot. */
    public synchronized List<UUID> collect() {
        return List.copyOf(snapshots.keySet());
    }

    public synchronized Snapshot snapshot(UUID id) {
        Snapshot s = snapshots.get(id);
        if (s == null) {
            throw new NoSuchSnapshotException("no snapshot with id " + id);
        }
        return s;
    }

    public synchronized Collection<Snapshot> snapshots() {
        return List.copyOf(snapshots.values());
    }

    /** snapshot_info of a device: its snapshot's error code and its image name. */
    public synchronized SnapshotInfo info(String deviceName) {
        Snapshot s = takenSnapshotOf(deviceName);
        return new SnapshotInfo(s.errorCode(deviceName), SnapshotImage.name(deviceName, s.id()));
    }

    /** The image of a device in a taken snapshot. */
    public synchronized SnapshotImage image(String deviceName) {
        return takenSnapshotOf(deviceName).images().get(deviceName);
    }

    /** The image by its name, {@code <device>@<snapshot-id>}; empty when there is none. */
    public synchronized Optional<SnapshotImage> imageByName(String imageName) {
        for (Snapshot s : snapshots.values()) {
            for (SnapshotImage i : s.images().values()) {
                if (i.name().equals(imageName)) {
                    return Optional.of(i);
                }
            }
        }
        return Optional.empty();
    }

    /** snapshot_waitevent: the oldest event, or empty after timeoutMs. */
    public Optional<SnapshotEvent> waitEvent(UUID id, long timeoutMs) throws InterruptedException {
        EventQueue q = snapshot(id).events();
        return q.waitEvent(timeoutMs);
    }

    /** Destroys every snapshot and detaches every device (shutdown). */
    @Override
    public synchronized void close() {
        for (UUID id : List.copyOf(snapshots.keySet())) {
            try {
                destroy(id);
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "destroying snapshot " + id + " at shutdown failed", e);
            }
        }
        for (String name : List.copyOf(trackers.keySet())) {
            try {
                detach(name);
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "detaching " + name + " at shutdown failed", e);
            }
        }
    }

    /**
     * Tells every listener; one that fails is logged and the others are still told, so a
     * front end's failure never leaves the engine half way through a change.
     */
    private void tell(Consumer<Listener> call, String what) {
        for (Listener l : listeners) {
            try {
                call.accept(l);
            } catch (Throwable t) {
                LOG.log(Level.SEVERE, "a front end failed to follow the " + what + " (" + l + ")", t);
            }
        }
    }

    private Snapshot snapshotOf(String deviceName) {
        for (Snapshot s : snapshots.values()) {
            if (s.contains(deviceName)) {
                return s;
            }
        }
        return null;
    }

    /** The taken snapshot holding an attached device; refused when there is none. */
    private Snapshot takenSnapshotOf(String deviceName) {
        tracker(deviceName);
        Snapshot s = snapshotOf(deviceName);
        if (s == null || s.state() != Snapshot.State.TAKEN) {
            throw new SnapshotNotTakenException("device " + deviceName + " is not in a taken snapshot");
        }
        return s;
    }

    private void checkFree(Tracker t) {
        Snapshot other = snapshotOf(t.name());
        if (other != null) {
            throw new DeviceBusyException("device " + t.name() + " is already in snapshot " + other.id());
        }
    }

    private static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidArgumentException("bad device name '" + name
                    + "': use 1-128 letters, digits, '.', '_', '+' or '-', starting with a letter or digit");
        }
    }
}
