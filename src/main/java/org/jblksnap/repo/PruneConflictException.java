package org.jblksnap.repo;

/**
 * A prune could not start because another prune of the repository runs (in this process or
 * another, on this host or another): two prunes never overlap. Nothing was changed; the
 * retention is applied by the next prune. A daemon's job reports its prune as skipped, not failed.
 */
public final class PruneConflictException extends RepositoryException {
    public PruneConflictException(String message) {
        super(message);
    }
}
