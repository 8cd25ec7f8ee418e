package org.jblksnap.backup;

import org.jblksnap.nbd.client.NbdAddress;

/**
 * One backup run: which device (its name in the repository), the NBD export to read (a
 * snapshot image, however it was made), and what the run knows of its changes.
 *
 * @param cbt the snapshot's CBT generation and changes number, or null when the source has
 *        no change tracking (every run then reads everything)
 * @param dirtyBitmap a metadata context the caller vouches for as the blocks changed since
 *        the device's last point (e.g. a qemu bitmap), instead of the one derived from the
 *        CBT numbers; null normally
 * @param full read everything even if changes are known
 */
public record BackupRequest(String device, NbdAddress address, String exportName, CbtRef cbt, String dirtyBitmap,
        boolean full) {

    public BackupRequest {
        if (device == null || device.isBlank()) {
            throw new IllegalArgumentException("a device name is needed");
        }
    }

    public static BackupRequest of(String device, NbdAddress address, String exportName, CbtRef cbt) {
        return new BackupRequest(device, address, exportName, cbt, null, false);
    }

    public BackupRequest withDirtyBitmap(String context) {
        return new BackupRequest(device, address, exportName, cbt, context, full);
    }

    public BackupRequest forcingFull() {
        return new BackupRequest(device, address, exportName, cbt, dirtyBitmap, true);
    }

    String source() {
        return address + " export '" + exportName + "'";
    }
}
