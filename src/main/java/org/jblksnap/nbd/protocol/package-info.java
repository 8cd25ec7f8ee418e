/**
 * The NBD protocol as both sides of jblksnap speak it (doc/proto.md of the NetworkBlockDevice
 * project), shared by the server ({@link org.jblksnap.nbd.server}) and the client
 * ({@link org.jblksnap.nbd.client}) as nbdkit and libnbd share their protocol header:
 * <ul>
 * <li>{@link org.jblksnap.nbd.protocol.Nbd}: the numbers (magics, flags, options, commands,
 *     reply types, errors, meta context names) and the limits (32 MiB payload, 4096-byte strings);
 * <li>{@link org.jblksnap.nbd.protocol.Names}: their names, for messages and logs;
 * <li>{@link org.jblksnap.nbd.protocol.WireReader}: buffered big-endian reads from the peer;
 *     {@link org.jblksnap.nbd.protocol.Wire}: whole gathering writes and strict protocol strings;
 * <li>{@link org.jblksnap.nbd.protocol.CbtBitmapName}: {@code qemu:dirty-bitmap:cbt-<generation>-<N>},
 *     the dirty bitmap a jblksnap server offers on a snapshot image and a backup asks for;
 * <li>{@link org.jblksnap.nbd.protocol.HostPort}: a TCP address as users write it.
 * </ul>
 * Nothing here knows either side: this package imports neither the server nor the client.
 */
package org.jblksnap.nbd.protocol;
