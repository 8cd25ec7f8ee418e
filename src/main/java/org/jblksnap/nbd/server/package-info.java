/**
 * The NBD server: every tracked device under its name and every snapshot image as
 * {@code <device>@<snapshot-id>}, plus any export added by hand (a backup point), on Unix
 * sockets and TCP addresses ({@link org.jblksnap.nbd.server.NbdServer}).
 *
 * <h2>Phases of a connection</h2>
 * <ol>
 * <li>Handshake ({@link org.jblksnap.nbd.server.ServerHandshake}): fixed newstyle option
 *     haggling until GO or EXPORT_NAME picks an {@link org.jblksnap.nbd.server.Export} from the
 *     {@link org.jblksnap.nbd.server.ExportRegistry}; the outcome is a {@code Session} (the
 *     export, structured replies or not, the selected meta contexts).
 * <li>Transmission: requests read, run and answered until DISC, a broken rule, or the export
 *     going away; {@code Connection} holds the life of a connection as one ordered state
 *     (HANDSHAKE, ACTIVE, ENDING, DRAINING, CLOSED) and its lock order.
 * </ol>
 *
 * <h2>Threads</h2>
 * A virtual thread per listener accepts. Each connection runs on platform threads (the
 * engine's file I/O blocks; see {@code NbdServer.threads()}): the connection's thread does
 * the handshake, then it and 15 more workers take turns reading requests.
 *
 * <h2>The request path</h2>
 * A worker, under the connection's read lock, reads one request header and its WRITE payload
 * (into a pooled direct buffer, counted against the connection's budget) and lets go of the
 * lock; {@code Commands} checks the request (flags, read-only, alignment, range) and runs it
 * on the export's {@link org.jblksnap.device.BlockIo} (a tracker or a snapshot image), into a
 * {@code Reply}; the {@code ReplyWriter} sends whatever replies are queued with gathering
 * writes, then each reply's {@code whenSent} callbacks give its buffers and budget back.
 * Replies thus go out in the order requests finish, and no request changes threads.
 *
 * <h2>Limits</h2>
 * {@link org.jblksnap.nbd.server.NbdLimits}: a cap on connections (one more is closed at once);
 * one payload budget in the {@code BufferPool} for all connections (reading a request waits
 * while it is spent; the per-connection budget above still bounds what one client has in
 * flight); deadlines ({@code Deadline}) for the handshake, for the rest of a request once it
 * began and for each write of replies, enforced by the server's watchdog, which closes the
 * connection (NIO sockets have no read timeout). A BLOCK_STATUS reply holds at most
 * {@code Commands.MAX_REPLY_DESCRIPTORS} descriptors. An OutOfMemoryError while running a
 * request is an ENOMEM reply; in the accept loop it closes the one connection and the loop
 * goes on.
 *
 * <h2>Meta contexts</h2>
 * {@code base:allocation} on every export ({@code SparseFile} and {@code ImageAllocation} for
 * device files and their images), and {@code qemu:dirty-bitmap:cbt-<generation>-<N>} on images
 * ({@code DirtyBitmaps}), through the {@link org.jblksnap.nbd.server.MetaContextProvider} of
 * each export.
 */
package org.jblksnap.nbd.server;
