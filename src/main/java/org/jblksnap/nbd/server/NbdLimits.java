package org.jblksnap.nbd.server;

import java.time.Duration;

import org.jblksnap.error.InvalidArgumentException;
import org.jblksnap.nbd.protocol.Nbd;

/**
 * What the NBD server lets its clients hold, all connections together: how many connections
 * at once, how much payload memory (WRITE payloads and READ data in flight, plus the free
 * buffers kept for reuse), how long a handshake may take and how long a request that has
 * started to arrive may take to arrive whole (a WRITE whose payload stalls) or its reply to
 * leave (a client that stops reading). Whoever passes a limit gets a closed connection;
 * everyone else is served. An idle connection in transmission is never timed out: an idle
 * VM's disk is idle.
 *
 * @param maxConnections connections at once, handshakes included; one more is closed at once
 * @param payloadMemory bytes of payload buffers for all connections; reading a request waits
 *     while they are spent (at least the maximum payload)
 * @param handshakeTimeout from accept to the end of option haggling (nbdkit and qemu-nbd use
 *     seconds too)
 * @param requestTimeout for the rest of a request once its first byte came, and for each
 *     write of replies
 */
public record NbdLimits(int maxConnections, long payloadMemory, Duration handshakeTimeout, Duration requestTimeout) {
    public static final NbdLimits DEFAULTS = new NbdLimits(1024, 256L << 20, Duration.ofSeconds(10),
            Duration.ofSeconds(60));

    public NbdLimits {
        if (maxConnections < 1) {
            throw new InvalidArgumentException("the NBD connection limit must be at least 1, got " + maxConnections);
        }
        if (payloadMemory < Nbd.MAX_PAYLOAD) {
            throw new InvalidArgumentException("NBD payload memory must be at least " + (Nbd.MAX_PAYLOAD >> 20)
                    + " MiB (one maximal request), got " + payloadMemory + " bytes");
        }
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero() || requestTimeout.isNegative()
                || requestTimeout.isZero()) {
            throw new InvalidArgumentException("NBD timeouts must be positive");
        }
    }

    public NbdLimits withMaxConnections(int n) {
        return new NbdLimits(n, payloadMemory, handshakeTimeout, requestTimeout);
    }

    public NbdLimits withPayloadMemory(long bytes) {
        return new NbdLimits(maxConnections, bytes, handshakeTimeout, requestTimeout);
    }

    public NbdLimits withHandshakeTimeout(Duration d) {
        return new NbdLimits(maxConnections, payloadMemory, d, requestTimeout);
    }

    public NbdLimits withRequestTimeout(Duration d) {
        return new NbdLimits(maxConnections, payloadMemory, handshakeTimeout, d);
    }
}
