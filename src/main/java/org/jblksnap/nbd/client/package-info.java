/**
 * A general NBD client ({@link org.jblksnap.nbd.client.NbdClient}), used by backups and
 * tested against jblksnap's own server, qemu-nbd and nbdkit.
 *
 * <p>It supports: fixed newstyle negotiation (OPT_GO, with OPT_EXPORT_NAME for servers
 * without it), structured replies when the server has them (simple replies otherwise),
 * listing and selecting meta contexts ({@code base:allocation}, qemu dirty bitmaps), the
 * server's block size constraints, and pipelined READ and BLOCK_STATUS from any number of
 * threads, one reader thread matching replies to requests by handle. It is read-only: no
 * WRITE, no TLS. Addresses are Unix sockets or TCP ({@link org.jblksnap.nbd.client.NbdAddress});
 * a handshake that does not finish in time fails with a message saying so.
 *
 * <p>Errors: a server error fails only its request ({@link org.jblksnap.nbd.client.NbdCommandException},
 * with the errno); a protocol violation or a lost connection fails every request in flight and
 * every later one ({@link org.jblksnap.nbd.client.NbdException}).
 */
package org.jblksnap.nbd.client;
