package org.jblksnap.cbt;

import java.util.UUID;

/** What `blksnap cbtinfo` prints for a device. changesNumber is the previous snapshot number. */
public record CbtInfo(long deviceCapacity, long blockSize, int blockCount, UUID generationId, int changesNumber) {
}
