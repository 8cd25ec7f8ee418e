package org.jblksnap.backup;

import org.jblksnap.repo.HashList;
import org.jblksnap.repo.Point;

/**
 * What a backup run reads, as {@link BackupRunner} decides it (one place, once connected,
 * each reason for a full run told to the user there). Both modes keep the device's last
 * point's index when it can be used (same size, readable), null otherwise: the changed chunks
 * are counted against it.
 */
sealed interface BackupMode {
    HashList previous();

    /** The index the new point starts from, of that many blocks. */
    HashList startIndex(int blocks);

    /** The point's parent, as its metadata records it (none for a full run). */
    Long parentId();

    /** As the summary says it. */
    String describe();

    /** Everything is read but what base:allocation reports as zeroes. */
    record Full(HashList previous) implements BackupMode {
        @Override
        public HashList startIndex(int blocks) {
            return new HashList(blocks);
        }

        @Override
        public Long parentId() {
            return null;
        }

        @Override
        public String describe() {
            return "full";
        }
    }

    /**
     * Only what the dirty bitmap context reports changed since parent is read; the rest is
     * kept from parent, whose index is previous.
     */
    record Incremental(Point parent, String context, HashList previous) implements BackupMode {
        @Override
        public HashList startIndex(int blocks) {
            return previous.copy(); // the blocks not read keep the parent's manifests
        }

        @Override
        public Long parentId() {
            return parent.id();
        }

        @Override
        public String describe() {
            return "incremental to point " + parent.id() + " by " + context;
        }
    }
}
