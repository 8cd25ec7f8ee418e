package org.jblksnap.snapshot;

import java.util.UUID;

import org.jblksnap.diff.DiffStorage;

/**
 * What `blksnap snapshot_info` prints for an attached device: 0 or a negative errno, and the
 * image name (empty until its snapshot is taken); and here also the snapshot the device is in
 * and its difference storage's usage (both null when the device is in no snapshot).
 */
public record SnapshotInfo(int errorCode, String image, UUID snapshot, DiffStorage.Usage storage) {
}
