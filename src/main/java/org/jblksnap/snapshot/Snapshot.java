package org.jblksnap.snapshot;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.jblksnap.cow.ChunkBufferPool;
import org.jblksnap.cow.ChunkMap;
import org.jblksnap.cow.CowHealth;
import org.jblksnap.device.Placement;
import org.jblksnap.diff.DiffStorage;
import org.jblksnap.error.Errno;
import org.jblksnap.image.SnapshotImage;
import org.jblksnap.params.Params;
import org.jblksnap.tracker.Tracker;

/**
 * One snapshot (blksnap's snapshot.c): its devices, its difference storage, its images and its
 * events. Life: created → (devices added) → taken → destroyed (see the package doc for the
 * take and destroy protocols). The {@link SnapshotManager} serialises every state change under
 * its monitor; this class only holds the state.
 */
public final class Snapshot {
    /** Where a snapshot is in its life; destroyed, it is no longer in the manager. */
    public enum State { CREATED, TAKEN }

    private final UUID id;
    private final DiffStorage storage;
    /** Where the storage lives, for the engine's overlap checks. */
    private final Placement storagePlacement;
    private final EventQueue events = new EventQueue();
    /** Each device's copy-on-write health, made at take: one device's failure is its own. */
    private final Map<String, CowHealth> health = new LinkedHashMap<>();
    private final Map<String, Tracker> devices = new LinkedHashMap<>();
    private final Map<String, SnapshotImage> images = new LinkedHashMap<>();
    /** The chunk maps made at take, one per device. */
    private final List<ChunkMap> chunkMaps = new ArrayList<>();
    private volatile State state = State.CREATED;

    /** Opens the difference storage; on error nothing exists. */
    Snapshot(UUID id, Placement storagePlacement, long limit, Params params) throws IOException {
        this.id = id;
        this.storagePlacement = storagePlacement;
        this.storage = DiffStorage.open(storagePlacement.path(), limit, params, this::noSpace);
    }

    public UUID id() {
        return id;
    }

    public State state() {
        return state;
    }

    public DiffStorage storage() {
        return storage;
    }

    Placement storagePlacement() {
        return storagePlacement;
    }

    public EventQueue events() {
        return events;
    }

    /**
     * 0 while the device's image is healthy (or the snapshot not taken), else the negative
     * errno of its failure (−ENOSPC after an overflow of the storage).
     */
    public int errorCode(String device) {
        CowHealth h = health.get(device);
        Errno e = h == null ? null : h.error();
        return e == null ? 0 : -e.code();
    }

    public List<String> deviceNames() {
        return List.copyOf(devices.keySet());
    }

    public Map<String, SnapshotImage> images() {
        return Collections.unmodifiableMap(images);
    }

    boolean contains(String device) {
        return devices.containsKey(device);
    }

    void add(Tracker tracker) {
        devices.put(tracker.name(), tracker);
    }

    /** Called by the storage when it is at its limit and runs low. */
    private void noSpace(long requestedSectors) {
        events.add(new SnapshotEvent.NoSpace(Instant.now(), requestedSectors));
    }

    private void cowFailed(String device, Errno errno, IOException cause) {
        events.add(new SnapshotEvent.Corrupted(Instant.now(), device, errno));
    }

    /**
     * The instant of take: every device is frozen and drained. Each CBT switches and COW turns
     * on; nothing here waits for I/O.
     */
    List<SnapshotImage> takeWhileFrozen(Params params) {
        int maxShift = 0;
        for (Tracker t : devices.values()) {
            maxShift = Math.max(maxShift, params.chunkShift(t.capacity()));
        }
        ChunkBufferPool buffers = new ChunkBufferPool(1 << maxShift, params.chunkMaximumInQueue(),
                params.freeDiffBufferPoolSize());
        List<SnapshotImage> made = new ArrayList<>();
        for (Tracker t : devices.values()) {
            assert t.isFrozen() : "take of " + id + " with writes to " + t.name() + " passing";
            CowHealth h = new CowHealth(this::cowFailed);
            health.put(t.name(), h);
            ChunkMap chunks = new ChunkMap(t.name(), t.device(), params.chunkShift(t.capacity()), storage, buffers, h);
            t.cbt().switchForTake();
            t.setCowWhileFrozen(chunks);
            chunkMaps.add(chunks);
            SnapshotImage image = new SnapshotImage(t.name(), id, t.capacity(), chunks, t.cbt());
            images.put(t.name(), image);
            made.add(image);
        }
        state = State.TAKEN;
        return made;
    }

    Iterable<Tracker> trackers() {
        return devices.values();
    }

    /** Chunks copied to the difference storage so far, over all devices. */
    public long copiedChunks() {
        long n = 0;
        for (ChunkMap c : chunkMaps) {
            n += c.copiedChunks();
        }
        return n;
    }
}
