package org.jblksnap.repo;

/**
 * A request to the object store failed (the network, the credentials, the service's own error):
 * nothing is known of the object, which may be whole. Unlike a damaged object, which reads but
 * does not check, it is never taken for damage: a prune marking what points use fails with it
 * rather than note a point as unreadable and send the user to verify.
 */
public final class StoreAccessException extends RepositoryException {
    public StoreAccessException(String message, Throwable cause) {
        super(message, cause);
    }
}
