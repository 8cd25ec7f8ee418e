/**
 * The engine: tracked devices and snapshots ({@link org.jblksnap.snapshot.SnapshotManager}),
 * with blksnap's operations (attach, detach, snapshot create/add/take/destroy, info, events).
 * This page is where the engine's two protocols and its lock order are written down; the
 * classes it names hold the details.
 *
 * <h2>Take</h2>
 * The user's take hooks run outside the engine, around all of this ({@code control.TakeHooks}):
 * the pre-take command before (if it fails, nothing below happens), the post-take command
 * after, whatever happened. {@code SnapshotManager.take}, holding the manager's monitor:
 * <ol>
 * <li>Check: the snapshot exists, is not taken, has devices.</li>
 * <li>Freeze the file systems over the devices, as blksnap's {@code bdev_freeze}: each
 * {@link org.jblksnap.snapshot.HostStack} (the FUSE front end) FIFREEZEs every file system
 * mounted on a loop device over one of the snapshot's device files. The write gates are still
 * open: a file system writes its last changes (ext4 flushes its journal and clears
 * needs_recovery) through the engine before it stops.</li>
 * <li>Freeze every device of the snapshot, in the snapshot's device order
 * ({@code Tracker.freeze}, its {@link org.jblksnap.device.WriteGate}): new writes wait at the
 * gate, and the freeze returns once the writes in flight, their copy-on-write included, have
 * drained. From here no write of any of the devices runs.</li>
 * <li>The instant ({@code Snapshot.takeWhileFrozen}), for each device: a new
 * {@link org.jblksnap.cow.ChunkMap} (all chunks new); the CBT switches
 * ({@code CbtMap.switchForTake}: previous ← active, active + 1, the writable map copied to the
 * readable one; a new generation instead when active would reach 256); COW turns on
 * ({@code Tracker.setCowWhileFrozen}, which asserts the gate is frozen and drained); the
 * {@link org.jblksnap.image.SnapshotImage} is made. The snapshot is TAKEN.</li>
 * <li>Thaw every device frozen so far, in a {@code finally}: also when a step failed.</li>
 * <li>Thaw the file systems (FITHAW), in a {@code finally} after the gates opened: also when a
 * step failed. At daemon stop the FUSE front end thaws whatever a take cut short left frozen.</li>
 * <li>Tell the listeners of each image ({@code imageCreated}: an NBD export, a FUSE file).</li>
 * </ol>
 * So every write either finished before the instant (its CBT mark carries the old active
 * number and its data is on the device, hence in the image) or starts after it (it carries
 * the new number and copies its chunk before it writes): none sees half a switch, and all the
 * snapshot's devices are taken at the same instant.
 *
 * <h2>Destroy</h2>
 * {@code SnapshotManager.destroy}, holding the manager's monitor:
 * <ol>
 * <li>The snapshot leaves the manager: its devices are free for another snapshot from here.</li>
 * <li>Tell the listeners ({@code imageDestroying}): each image's NBD export goes (its
 * connections are told to end: requests in flight finish, later ones get ESHUTDOWN), its FUSE
 * file goes, and its loop device is handed to a worker to detach.</li>
 * <li>Close each image: image I/O in flight drains, later image I/O fails with ESHUTDOWN
 * ({@link org.jblksnap.error.ImageClosedException}).</li>
 * <li>For each device: freeze, COW off ({@code setCowWhileFrozen(null)}), thaw.</li>
 * <li>Close the difference storage (a hidden temporary file's space is freed).</li>
 * </ol>
 * Images close before COW goes: a device write that no longer copies its chunk can only run
 * once no image read is left to see it. A listener that fails is logged and the teardown goes
 * on (steps 3 to 5 run whatever happens before them). The devices stay attached and tracked;
 * their CBT keeps the numbers of the take.
 *
 * <h2>One writer: what the engine refuses</h2>
 * A tracked device must see every write to it, and a difference storage must not be written
 * through a tracker. {@link org.jblksnap.device.Placement} says what a path is stored on
 * (a partition's disk, device-mapper and md slaves, a loop device's backing file, a file
 * system's device); two paths overlap when one is stored on the other.
 * <ul>
 * <li>attach: a device is opened exclusively (a mounted or otherwise held block device:
 * EBUSY); refused when it overlaps a tracked device (EBUSY; the same device: EALREADY) or a
 * snapshot's storage (EBUSY), when a loop device writes to it (EBUSY), and when it is stored
 * on an export of this engine (a loop device over its FUSE file: EINVAL).</li>
 * <li>snapshot_create: the storage is refused when it is, is stored on, or holds a tracked
 * device (EINVAL; blksnap compares dev_id), when it overlaps another snapshot's storage
 * (EBUSY), and when it is stored on an export of this engine (EINVAL), where its writes would
 * come back through the engine and could wait for themselves. A block device storage is opened
 * exclusively.</li>
 * </ul>
 * A plain open of a tracked block device by another program (one that does not ask for
 * exclusivity), or a loop device set up over a tracked file after attach, cannot be refused.
 *
 * <h2>Lock order</h2>
 * Outer to inner: a thread holding a lock of the list never waits for one above it.
 * <ol>
 * <li><b>{@code SnapshotManager}'s monitor</b>: every control operation. Guards the trackers
 * and snapshots maps and every snapshot's state. Listener calls run under it, and with them
 * the front ends' registries ({@code nbd.server.ExportRegistry}'s monitor,
 * {@code fuse.LoopDevices}' monitor): a listener must not block (slow work, such as
 * {@code losetup -d}, goes to a worker). Waiting for an event ({@code waitEvent}) holds no
 * lock of the engine.</li>
 * <li><b>{@code fuse.FileSystemFreezer}'s monitor</b>: held across FIFREEZE and FITHAW,
 * under the manager's monitor at take. The frozen file systems' writes enter the write gates
 * below while it is held, so the gates must be open then (take freezes them after).</li>
 * <li><b>Write gates</b>: a device's ({@code Tracker}) gate is entered by each device write for
 * its whole path (CBT mark, COW copy, device write) and frozen by take, destroy and detach; an
 * image's gate is entered by each image read, write and flush and closed by destroy. Several
 * gates are frozen in the snapshot's device order.</li>
 * <li><b>Chunk stripe locks</b> ({@code ChunkMap}): the write lock for a chunk's copy, held
 * across the device read, the storage allocation and the storage write; the read lock for an
 * image read of a chunk not yet copied, held across its device read.</li>
 * <li><b>Chunk buffer permits</b> ({@code cow.ChunkBufferPool}): a copy takes one while it
 * holds its chunk's write lock, and gives it back before it lets go of the lock.</li>
 * <li><b>{@code DiffStorage}'s monitor</b>: allocation and growth ({@code fallocate}). Its
 * {@code no_space} call runs under it and only queues an event.</li>
 * <li><b>{@code CowHealth}'s monitor</b>: the snapshot's first failure; its listener only
 * queues the {@code corrupted} event.</li>
 * <li><b>{@code CbtMap}'s monitor</b>: the readable map and the numbers (switch, mark dirty,
 * read, info). A device write marks the writable map without it: the numbers change only in
 * the switch, which runs with every writer drained. An image write marks dirty after its
 * copy, holding its image gate and no other lock.</li>
 * <li>{@code EventQueue}: a lock-free queue, the innermost.</li>
 * </ol>
 * The NBD server's own locks (a connection's read lock and reply lock) are described in
 * {@code nbd.server.Connection}; none of them is held while the engine is called.
 */
package org.jblksnap.snapshot;
