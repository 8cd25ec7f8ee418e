package org.jblksnap.control;

import org.jblksnap.error.BlksnapException;
import org.jblksnap.error.Errno;

/** An error reply from the daemon, as the client sees it. */
public final class ControlException extends BlksnapException {
    public ControlException(Errno errno, String message) {
        super(errno, message);
    }
}
