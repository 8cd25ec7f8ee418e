package org.jblksnap.snapshot;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
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
import org.jblksnap.device.BlockSysfs;
import org.jblksnap.device.DevNumber;
import org.jblksnap.device.FileExtents;
import org.jblksnap.device.Placement;
import org.jblksnap.diff.DiffStorage;
import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.DeviceAlreadyAttachedException;
import org.jblksnap.error.DeviceBusyException;
import org.jblksnap.error.DeviceNotAttachedException;
import org.jblksnap.error.EngineIOException;
import org.jblksnap.error.Errno;
import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.error.NoDevicesException;
import org.jblksnap.error.NoSuchSnapshotException;
import org.jblksnap.error.SnapshotAlreadyTakenException;
import org.jblksnap.error.SnapshotNotTakenException;
import org.jblksnap.error.StorageException;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.tracker.Backfill;
import org.jblksnap.tracker.Tracker;

/**
 * The engine: tracked devices and snapshots, with the operations of blksnap's control
 * interface. Every state change holds this object's monitor, so control operations are
 * serialised; the I/O paths (tracker writes, image reads and writes) never take it. The take
 * and destroy protocols, the lock order and what the engine refuses to overlap are in the
 * package doc.
 *
 * <p>A device is named by its name or, as blksnap names it, by its path ({@code /dev/vdb}: a
 * device argument with a '/' in it). create, add and {@link #attachDevice} attach a device
 * named by a path that is not attached yet, under a name made from its file name.
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
    /** Where each tracked device lives, by name, for the overlap checks. */
    private final Map<String, Placement> placements = new LinkedHashMap<>();
    private final Map<UUID, Snapshot> snapshots = new LinkedHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final List<HostStack> hostStacks = new CopyOnWriteArrayList<>();

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

    /** Registers a front end that stacks host block devices on the exports (see {@link HostStack}). */
    public Subscription addHostStack(HostStack stack) {
        hostStacks.add(stack);
        return () -> hostStacks.remove(stack);
    }

    /** What {@link #attachDevice} did: the device's tracker, and whether it was attached before. */
    public record Attached(Tracker tracker, boolean already) {
    }

    // ---- devices ----

    /**
     * Starts tracking a device under a name. Refused when the name or the device is attached
     * already (EALREADY), when the device overlaps a tracked device or a difference storage or
     * something else holds it (EBUSY), and when it is stored on an export of this engine
     * (EINVAL). The CBT store's saved map of the device is taken over when it can be trusted;
     * otherwise a new generation starts.
     */
    public synchronized Tracker attach(String name, Path path) throws IOException {
        return attach(name, path, null);
    }

    /** Opens the live restore of a device just opened (it may refuse the device). */
    @FunctionalInterface
    public interface BackfillOpener {
        Backfill open(BlockDevice device) throws IOException;
    }

    /**
     * Attaches a device that is restored live: it is tracked at once, reads of what is not
     * restored yet come from the backfill's source, writes go to the device and are never
     * overwritten by the restore (package doc of {@code tracker}). Its CBT starts a new
     * generation. {@link #finishRestore} ends the restore once {@link Backfill#complete()}.
     */
    public synchronized Tracker attachRestoring(String name, Path path, BackfillOpener opener) throws IOException {
        return attach(name, path, opener);
    }

    /**
     * The live restore of the device is complete: it becomes an ordinary tracked device whose
     * CBT starts a new generation, and the restore's state goes.
     */
    public synchronized void finishRestore(String device) throws IOException {
        Tracker t = tracker(device);
        t.freeze();
        try {
            t.endBackfillWhileFrozen();
        } finally {
            t.thaw();
        }
        LOG.info(() -> "live restore of " + t.name() + " complete; CBT generation " + t.cbt().generation());
    }

    private Tracker attach(String name, Path path, BackfillOpener restoring) throws IOException {
        checkName(name);
        if (trackers.containsKey(name)) {
            throw new DeviceAlreadyAttachedException("device " + name + " is already attached (" + trackers.get(name).device().path() + ")");
        }
        BlockDevice.checkPath(path);
        Placement placement = Placement.of(path);
        for (Tracker t : trackers.values()) {
            Placement other = placements.get(t.name());
            if (BlockDevice.sameFile(t.device().path(), path)) {
                throw new DeviceAlreadyAttachedException(path + " is already attached as device " + t.name());
            }
            if (placement.overlaps(other)) {
                throw new DeviceBusyException(path + " overlaps the tracked device " + t.name() + " (" + t.device().path()
                        + "): a write to one would change the other behind its tracker");
            }
        }
        for (Snapshot s : snapshots.values()) {
            if (placement.overlaps(s.storagePlacement())) {
                throw new DeviceBusyException(path + " holds the difference storage of snapshot " + s.id());
            }
        }
        String stacked = stackedOnExport(placement, "device " + path);
        if (stacked != null) {
            throw new InvalidArgumentException(stacked);
        }
        refuseLoopDevicesOver(path);
        BlockDevice device = BlockDevice.open(path);
        CbtMap cbt;
        Backfill backfill = null;
        try {
            if (restoring != null) {
                backfill = restoring.open(device);
                cbt = new CbtMap(device.capacity(), params);
            } else {
                CbtState saved = cbtStore.claim(name, path, device.capacity(), params.trackingBlockShift(device.capacity()));
                cbt = saved != null ? CbtMap.restore(saved) : new CbtMap(device.capacity(), params);
            }
        } catch (IOException e) {
            device.close();
            throw e;
        } catch (BlksnapException e) {
            device.close();
            throw e;
        } catch (RuntimeException e) {
            device.close();
            throw new InvalidArgumentException("device " + name + ": " + e.getMessage());
        }
        Tracker tracker = new Tracker(name, device, cbt, backfill);
        trackers.put(name, tracker);
        placements.put(name, placement);
        LOG.info(() -> "attached " + name + " = " + path + " (" + device.capacity() + " bytes, CBT generation "
                + cbt.generation() + ", changes number " + cbt.previous() + ")");
        tell(l -> l.deviceAttached(tracker), "attach of " + name);
        return tracker;
    }

    /**
     * attach as the blksnap tool does it: a device already attached is no error. The device is
     * a name with its path, or a path alone (then named after its file name). A name attached
     * to another path is refused (EALREADY).
     */
    public synchronized Attached attachDevice(String device, Path path) throws IOException {
        if (isPath(device)) {
            Path byPath = Path.of(device);
            if (path != null && !BlockDevice.sameFile(path, byPath)) {
                throw new InvalidArgumentException("device " + device + " is named by its path; it takes no other path (" + path + ")");
            }
            Tracker known = trackerByPath(byPath);
            return known != null ? new Attached(known, true) : new Attached(attach(nameFor(byPath), byPath), false);
        }
        Tracker known = trackers.get(device);
        if (known != null && (path == null || BlockDevice.sameFile(known.device().path(), path))) {
            return new Attached(known, true);
        }
        if (known == null && path == null) {
            throw new InvalidArgumentException("device " + device + " is not attached; give its path, or name it by its path");
        }
        return new Attached(attach(device, path), false);
    }

    /**
     * Stops tracking: writes in flight drain and are flushed, then the CBT map is saved.
     * Refused while the device is in a snapshot. Returns the final CBT state.
     */
    public synchronized CbtState detach(String device) throws IOException {
        Tracker t = tracker(device);
        String name = t.name();
        Snapshot s = snapshotOf(name);
        if (s != null) {
            throw new DeviceBusyException("device " + name + " is in snapshot " + s.id() + "; destroy it first");
        }
        tell(l -> l.deviceDetaching(t), "detach of " + name);
        trackers.remove(name);
        placements.remove(name);
        // Before the last writes drain: a write still in flight counts as after it.
        Instant trackedUntil = cbtStore.settle(t.device().path());
        IOException notDurable = null;
        try {
            t.close();
        } catch (IOException e) {
            notDurable = e; // detached all the same; the map still covers every write
        }
        CbtState state = t.cbt().state();
        cbtStore.save(name, t.device().path(), state, trackedUntil);
        if (notDurable != null) {
            throw new EngineIOException(Errno.EIO, "device " + name + " is detached, but its writes could not all be"
                    + " made durable: " + notDurable.getMessage(), notDurable);
        }
        LOG.info(() -> "detached " + name);
        return state;
    }

    /** The tracker of an attached device, by its name or its path (ENOENT when none). */
    public synchronized Tracker tracker(String device) {
        if (isPath(device)) {
            Tracker t = trackerByPath(Path.of(device));
            if (t == null) {
                throw new DeviceNotAttachedException("no attached device is " + device);
            }
            return t;
        }
        Tracker t = trackers.get(device);
        if (t == null) {
            throw new DeviceNotAttachedException("no device named '" + device + "' is attached");
        }
        return t;
    }

    public synchronized List<Tracker> trackers() {
        return List.copyOf(trackers.values());
    }

    public CbtInfo cbtInfo(String device) {
        return tracker(device).cbt().info();
    }

    /** The readable CBT map, count blocks from block first. */
    public byte[] readCbtMap(String device, int first, int count) {
        return tracker(device).cbt().readReadable(first, count);
    }

    /** markdirtyblock: ranges of {sector, count} in 512-byte sectors. */
    public synchronized void markDirty(String device, List<long[]> sectorRanges) {
        Tracker t = tracker(device);
        CbtMap cbt = t.cbt();
        for (long[] r : sectorRanges) {
            if (r[0] < 0 || r[1] < 0 || r[0] > (Long.MAX_VALUE >> Params.SECTOR_SHIFT)
                    || r[1] > (Long.MAX_VALUE >> Params.SECTOR_SHIFT)) {
                throw new InvalidArgumentException("bad sector range " + r[0] + ":" + r[1]);
            }
            BlockDevice.checkRange(r[0] << Params.SECTOR_SHIFT, r[1] << Params.SECTOR_SHIFT, cbt.capacity(),
                    "markdirtyblock on " + t.name());
        }
        for (long[] r : sectorRanges) {
            cbt.markDirty(r[0] << Params.SECTOR_SHIFT, r[1] << Params.SECTOR_SHIFT);
        }
    }

    /** What {@link #markDirtyFile} marked: on which device, and how many ranges. */
    public record MarkedFile(String device, List<long[]> sectorRanges) {
    }

    /**
     * markdirtyblock -f: marks where a file's data lies on the tracked device under its file
     * system (the file system on a loop device over the device's export, or on one of its
     * partitions). ENOENT when the file is on no tracked device; EINVAL when device (if given)
     * names another one.
     */
    public MarkedFile markDirtyFile(Path file, String device) throws IOException {
        // The extents first, outside the monitor: FIEMAP may read the file system, and that
        // file system may be on one of this engine's exports.
        List<FileExtents.Extent> extents = FileExtents.of(file);
        DeviceOffset under = deviceUnder(file);
        synchronized (this) {
            Tracker t = trackers.get(under.name());
            if (t == null) {
                throw new DeviceNotAttachedException("device " + under.name() + " under " + file + " was detached");
            }
            if (device != null && tracker(device) != t) {
                throw new InvalidArgumentException(file + " is on device " + t.name() + ", not on " + device);
            }
            List<long[]> ranges = new ArrayList<>();
            for (FileExtents.Extent e : extents) {
                long start = under.offset() + e.physical();
                long end = start + e.length();
                long first = start >> Params.SECTOR_SHIFT;
                ranges.add(new long[] {first, ((end + Params.SECTOR_SIZE - 1) >> Params.SECTOR_SHIFT) - first});
            }
            markDirty(t.name(), ranges);
            return new MarkedFile(t.name(), ranges);
        }
    }

    /** A tracked device, and where a block device stacked on it starts on it, in bytes. */
    private record DeviceOffset(String name, long offset) {
    }

    /**
     * The tracked device a file's file system is stored on, following partitions (their start)
     * and loop devices (their offset) down to a tracked block device, a tracked file or an
     * export of a tracked device.
     */
    private DeviceOffset deviceUnder(Path file) throws IOException {
        List<Tracker> tracked = trackers();
        DevNumber d = Placement.fileSystemDevice(file);
        long offset = 0;
        for (int depth = 0; depth < 16; depth++) {
            for (Tracker t : tracked) {
                if (t.device().isBlockDevice() && DevNumber.ofNode(t.device().path()).equals(d)) {
                    return new DeviceOffset(t.name(), offset);
                }
            }
            if (BlockSysfs.isPartition(d)) {
                offset += BlockSysfs.partitionStart(d) << Params.SECTOR_SHIFT;
                d = BlockSysfs.wholeDisk(d);
                continue;
            }
            String backing = BlockSysfs.loopBackingFile(d);
            if (backing == null) {
                break;
            }
            offset += BlockSysfs.loopOffset(d);
            Path backingFile = Path.of(backing);
            if (BlockDevice.kindOf(backingFile) == BlockDevice.Kind.BLOCK_DEVICE) {
                d = DevNumber.ofNode(backingFile);
                continue;
            }
            for (HostStack h : hostStacks) {
                Optional<String> export = h.exportOf(backingFile);
                if (export.isPresent() && tracked.stream().anyMatch(t -> t.name().equals(export.get()))) {
                    return new DeviceOffset(export.get(), offset);
                }
            }
            Tracker t = trackerByPath(tracked, backingFile);
            if (t != null) {
                return new DeviceOffset(t.name(), offset);
            }
            break;
        }
        throw new DeviceNotAttachedException(file + " is not stored on a tracked device (its file system is on "
                + Placement.fileSystemDevice(file) + ")");
    }

    // ---- snapshots ----

    /**
     * snapshot_create: checks everything first, so a refused create leaves no trace. A device
     * named by a path that is not attached is attached, and detached again if the create fails.
     * The storage must not be stored on a tracked device, hold one, or overlap another
     * snapshot's storage (see the package doc).
     */
    public synchronized UUID create(Path storagePath, long limit, List<String> devices) throws IOException {
        DiffStorage.Kind kind = DiffStorage.check(storagePath, limit);
        Placement storage = Placement.of(storagePath);
        refuseStorageOverlaps(storage);
        List<Tracker> add = new ArrayList<>();
        List<String> attachedHere = new ArrayList<>();
        try {
            for (String d : devices) {
                if (isPath(d) && trackerByPath(Path.of(d)) == null) {
                    attachedHere.add(attach(nameFor(Path.of(d)), Path.of(d)).name());
                    refuseStorageOverlaps(storage);
                }
                Tracker t = tracker(d);
                checkFree(t);
                if (add.contains(t)) {
                    throw new InvalidArgumentException("device " + d + " is named twice");
                }
                add.add(t);
            }
            UUID id = UUID.randomUUID();
            Snapshot s = new Snapshot(id, storage, limit, params);
            for (Tracker t : add) {
                s.add(t);
            }
            snapshots.put(id, s);
            LOG.info(() -> "snapshot " + id + " created, storage " + s.storage().path() + " (" + kind + "), limit " + limit);
            return id;
        } catch (IOException | RuntimeException e) {
            for (String name : attachedHere.reversed()) {
                try {
                    detach(name);
                } catch (IOException | RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /**
     * snapshot_add (blksnap_snapshot_append); a device named by a path that is not attached is
     * attached first, as blksnap's tool attaches its filter. ESRCH for an unknown snapshot,
     * EALREADY when the device is in this snapshot already, EBUSY when it is in another.
     */
    public synchronized void add(UUID id, String device) throws IOException {
        Snapshot s = snapshot(id);
        if (s.state() != Snapshot.State.CREATED) {
            throw new SnapshotAlreadyTakenException("snapshot " + id + " is already taken; devices can only be added before take");
        }
        if (isPath(device) && trackerByPath(Path.of(device)) == null) {
            Placement p = Placement.of(Path.of(device));
            if (p.overlaps(s.storagePlacement())) {
                throw new StorageException(Errno.EINVAL, "device " + device + " overlaps the difference storage "
                        + s.storagePlacement().path() + " of snapshot " + id);
            }
            attach(nameFor(Path.of(device)), Path.of(device));
        }
        Tracker t = tracker(device);
        if (s.contains(t.name())) {
            throw new DeviceAlreadyAttachedException("device " + t.name() + " is already in snapshot " + id);
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
        List<HostStack.Thaw> thaws = new ArrayList<>();
        List<Tracker> frozen = new ArrayList<>();
        List<SnapshotImage> images;
        try {
            for (HostStack h : hostStacks) {
                thaws.add(h.freeze(s.deviceNames()));
            }
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
        } finally {
            for (HostStack.Thaw thaw : thaws.reversed()) {
                thaw.close();
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

    /** The snapshot with this id (ESRCH when none). */
    public synchronized Snapshot snapshot(UUID id) {
        Snapshot s = snapshots.get(id);
        if (s == null) {
            throw NoSuchSnapshotException.of(id);
        }
        return s;
    }

    public synchronized Collection<Snapshot> snapshots() {
        return List.copyOf(snapshots.values());
    }

    /**
     * snapshot_info of an attached device: its snapshot's error code and its image name (empty
     * until the snapshot is taken, and both zero and empty when the device is in no snapshot,
     * as blksnap answers), with the snapshot's id and storage usage.
     */
    public synchronized SnapshotInfo info(String device) {
        Tracker t = tracker(device);
        Snapshot s = snapshotOf(t.name());
        if (s == null) {
            return new SnapshotInfo(0, "", null, null);
        }
        String image = s.state() == Snapshot.State.TAKEN ? SnapshotImage.name(t.name(), s.id()) : "";
        return new SnapshotInfo(s.errorCode(t.name()), image, s.id(), s.storage().usage());
    }

    /** The image of a device in a taken snapshot. */
    public synchronized SnapshotImage image(String device) {
        Tracker t = tracker(device);
        Snapshot s = snapshotOf(t.name());
        if (s == null || s.state() != Snapshot.State.TAKEN) {
            throw new SnapshotNotTakenException("device " + t.name() + " is not in a taken snapshot");
        }
        return s.images().get(t.name());
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

    /**
     * stretch_snapshot: raises the limit of a snapshot's difference storage (see
     * {@link DiffStorage#raiseLimit}); returns its usage afterwards.
     */
    public synchronized DiffStorage.Usage stretch(UUID id, long limit) throws IOException {
        DiffStorage storage = snapshot(id).storage();
        storage.raiseLimit(limit);
        LOG.info(() -> "snapshot " + id + ": difference storage limit raised to " + limit);
        return storage.usage();
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

    private void checkFree(Tracker t) {
        if (t.backfill() != null) {
            throw new DeviceBusyException("device " + t.name() + " is being restored live; snapshot it when the restore"
                    + " is complete");
        }
        Snapshot other = snapshotOf(t.name());
        if (other != null) {
            throw new DeviceBusyException("device " + t.name() + " is already in snapshot " + other.id());
        }
    }

    /** A device argument with a '/' names the device by its path (names never hold one). */
    private static boolean isPath(String device) {
        return device != null && device.indexOf('/') >= 0;
    }

    private Tracker trackerByPath(Path path) {
        return trackerByPath(trackers.values(), path);
    }

    private static Tracker trackerByPath(Collection<Tracker> among, Path path) {
        for (Tracker t : among) {
            try {
                if (BlockDevice.sameFile(t.device().path(), path)) {
                    return t;
                }
            } catch (IOException e) {
                // an unreadable path names no attached device
            }
        }
        return null;
    }

    /** A free name for a device named by its path: its file name, made a valid name. */
    private String nameFor(Path path) {
        Path file = path.getFileName();
        String base = (file == null ? "device" : file.toString()).replaceAll("[^A-Za-z0-9._+-]", "_");
        if (!NAME.matcher(base.substring(0, 1)).lookingAt()) {
            base = "d" + base;
        }
        base = base.substring(0, Math.min(base.length(), 120));
        String name = base;
        for (int n = 2; trackers.containsKey(name); n++) {
            name = base + "-" + n;
        }
        return name;
    }

    /**
     * A difference storage must not be stored on a tracked device nor hold one (EINVAL: its
     * writes would pass a tracker, or overwrite a device behind it), nor overlap another
     * snapshot's storage (EBUSY), nor be stored on an export of this engine (EINVAL).
     */
    private void refuseStorageOverlaps(Placement storage) {
        Path path = storage.path();
        for (Tracker t : trackers.values()) {
            Placement device = placements.get(t.name());
            if (storage.overlaps(device)) {
                String how = storage.isOn(device) && device.isOn(storage) ? "is the tracked device "
                        : storage.isOn(device) ? "is stored on the tracked device " : "holds the tracked device ";
                throw new StorageException(Errno.EINVAL, "difference storage " + path + " " + how + t.name()
                        + " (" + t.device().path() + ")");
            }
        }
        for (Snapshot s : snapshots.values()) {
            if (storage.overlaps(s.storagePlacement())) {
                throw new StorageException(Errno.EBUSY, "difference storage " + path + " is already used by snapshot "
                        + s.id() + " (its storage " + s.storagePlacement().path() + " overlaps it)");
            }
        }
        String stacked = stackedOnExport(storage, "difference storage " + path);
        if (stacked != null) {
            throw new StorageException(Errno.EINVAL, stacked);
        }
    }

    /**
     * Why a path cannot be used because it is stored on an export of this engine (a loop device
     * over its FUSE file): every write to it would come back through the engine. Null when it is not.
     */
    private String stackedOnExport(Placement placement, String what) {
        for (Path file : placement.stackedFiles()) {
            for (HostStack h : hostStacks) {
                Optional<String> export = h.exportOf(file);
                if (export.isPresent()) {
                    return what + " is stored on " + file + ", the export " + export.get()
                            + " of this daemon: its writes would come back through jblksnap";
                }
            }
        }
        return null;
    }

    /** Refuses a file or device that a loop device already writes to: it would write behind the tracker. */
    private static void refuseLoopDevicesOver(Path path) throws IOException {
        for (Map.Entry<String, String> loop : BlockSysfs.loopDevices().entrySet()) {
            Path backing = Path.of(loop.getValue());
            if (BlockDevice.kindOf(backing) != BlockDevice.Kind.MISSING && BlockDevice.sameFile(backing, path)) {
                throw new DeviceBusyException(path + " is the backing file of the loop device " + loop.getKey()
                        + "; detach it first: jblksnap must be the only writer of a tracked device");
            }
        }
    }

    private static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidArgumentException("bad device name '" + name
                    + "': use 1-128 letters, digits, '.', '_', '+' or '-', starting with a letter or digit");
        }
    }
}
