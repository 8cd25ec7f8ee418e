package org.jblksnap.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A device number, major:minor: what stat(2) gives as st_dev (a file's file system) or st_rdev (a device node). */
public record DevNumber(int major, int minor) {
    /** glibc's encoding of dev_t (gnu_dev_major/minor). */
    public static DevNumber of(long dev) {
        int major = (int) (((dev >>> 8) & 0xfffL) | ((dev >>> 32) & 0xfffff000L));
        int minor = (int) ((dev & 0xffL) | ((dev >>> 12) & 0xffffff00L));
        return new DevNumber(major, minor);
    }

    /** "major:minor", as sysfs and mountinfo write it. */
    public static DevNumber parse(String s) {
        int colon = s.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("not a device number: '" + s + "'");
        }
        return new DevNumber(Integer.parseInt(s.substring(0, colon).strip()), Integer.parseInt(s.substring(colon + 1).strip()));
    }

    /** The device number of the file system that holds path (st_dev). */
    public static DevNumber ofFileSystem(Path path) throws IOException {
        return of((Long) Files.getAttribute(path, "unix:dev"));
    }

    /** The device number a block device node names (st_rdev). */
    public static DevNumber ofNode(Path blockDevice) throws IOException {
        return of((Long) Files.getAttribute(blockDevice, "unix:rdev"));
    }

    /** Major 0: a file system without a block device (tmpfs, FUSE, overlay, a btrfs subvolume). */
    public boolean anonymous() {
        return major == 0;
    }

    @Override
    public String toString() {
        return major + ":" + minor;
    }
}
