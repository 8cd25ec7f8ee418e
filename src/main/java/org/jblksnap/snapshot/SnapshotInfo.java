package org.jblksnap.snapshot;

/** What `blksnap snapshot_info` prints for a device: 0 or a negative errno, and the image name. */
public record SnapshotInfo(int errorCode, String image) {
}
