/**
 * The engine: tracked devices and snapshots ({@link org.jblksnap.snapshot.SnapshotManager}),
 * with blksnap's operations (attach, detach, snapshot create/add/take/destroy, info, events).
 * This page is where the engine's two protocols and its lock order are written down; the
 * classes it names hold the details.
 *
 * <h2>Take</h2>
 * {@code SnapshotManager.take}, holding the manager's monitor:
 * <ol>
 * <li>Check: the snapshot exists, is not taken, has devices.</li>
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
 * <h2>Lock order</h2>
 * Outer to inner: a thread holding a lock of the list never waits for one above it.
 * <ol>
 * <li><b>{@code SnapshotManager}'s monitor</b>: every control operation. Guards the trackers
 * and snapshots maps and every snapshot's state. Listener calls run under it, and with them
 * the front ends' registries ({@code nbd.server.ExportRegistry}'s monitor,
 * {@code fuse.LoopDevices}' monitor): a listener must not block (slow work, such as
 * {@code losetup -d}, goes to a worker). Waiting for an event ({@code waitEvent}) holds no
 * lock of the engine.</li>
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
