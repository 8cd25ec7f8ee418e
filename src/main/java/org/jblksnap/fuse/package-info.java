/**
 * Local block devices for a host without an NBD driver: every tracked device and snapshot
 * image of a {@link org.jblksnap.snapshot.SnapshotManager} as a file of a FUSE mount (through
 * jfuse and libfuse3), and loop devices over those files.
 *
 * <pre>
 * FuseExports fuse = new FuseExports(engine, Path.of("/run/jblksnap/fuse")); // cleans a crashed run's leftovers
 * String dev = fuse.loops().attach("disk0");                 // "/dev/loopN" over /run/jblksnap/fuse/disk0
 * String img = fuse.loops().attach(engine.info("disk0").image()); // the image, disk0@&lt;snapshot-id&gt;
 * fuse.loops().detach("disk0");                               // also done at detach, destroy and close
 * fuse.close();                                               // loop devices, then the mount
 * </pre>
 *
 * Needs root, /dev/fuse, the loop driver and libfuse3; the JVM needs
 * {@code --enable-native-access=ALL-UNNAMED}.
 */
package org.jblksnap.fuse;
