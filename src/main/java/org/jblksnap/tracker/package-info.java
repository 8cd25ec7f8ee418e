/**
 * The write path of one tracked device ({@link org.jblksnap.tracker.Tracker}), and the live
 * restore of a device ({@link org.jblksnap.tracker.Backfill}).
 *
 * <h2>Live restore</h2>
 *
 * A device restored live is attached at once with a backfill: a source (a backup point, read
 * through {@link org.jblksnap.device.BlockIo}; the engine knows nothing of repositories), a unit
 * size (the point's chunk), and one bit per unit of the source's size, set when the device
 * holds that unit's final content: the source's, or a newer write. The bytes past the source's
 * size are the device's own and are left as they are.
 *
 * <pre>
 *   unit:  NOT RESTORED --(background fill: source -&gt; device)--------------&gt; RESTORED
 *          NOT RESTORED --(write covering it whole: write, then mark)---------&gt; RESTORED
 *          NOT RESTORED --(write covering part: fill it, write, then mark)---&gt; RESTORED
 *   device: RESTORING (backfill set) --(every unit RESTORED; finishRestore)--&gt; TRACKED
 *          (finishRestore, with the tracker frozen: flush, CBT new generation, backfill gone,
 *           state file deleted)
 * </pre>
 *
 * <ul>
 * <li>Read: a restored unit from the device; any other from the source, under the unit's
 * lock shared (so no fill or write of that unit runs meanwhile). A source that cannot be read
 * (a damaged chunk) fails that read with EIO, naming the source and the offset; nothing else.
 * <li>Write (inside the tracker's gate, after the CBT mark): units all restored go straight to
 * the device. Otherwise the locks of the units it touches are taken exclusively (in stripe
 * order, so two writes never deadlock); a unit it covers only in part and not restored is
 * filled from the source first; then the write; then its units are marked. A unit is marked
 * only after the device has its content, and bits only ever go from 0 to 1, so the fill never
 * overwrites a write: it takes the same lock and skips marked units.
 * <li>State file (a header naming the source for good, then the bitmap): {@link
 * org.jblksnap.tracker.Backfill#save()} copies the bits, flushes the device, then replaces the
 * file atomically (temporary file, fsync, rename, fsync of the directory). Every flush of the
 * tracker saves, so a write that was flushed is never copied over after a crash; units whose
 * writes were not flushed lose those writes (a disk may lose unflushed writes) and are copied
 * again. The background copy saves every few seconds, and detach and close save.
 * <li>Resume: attaching with a state file of the same source takes its bits; a state file of
 * another source is refused, so two points are never mixed on one target.
 * <li>While restoring the device cannot join a snapshot (the image would read unrestored
 * units from the device).
 * </ul>
 */
package org.jblksnap.tracker;
