package org.jblksnap.nbd.client;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the handshake: a server that accepts the connection but never talks (one busy
 * with another client, say) gets the socket closed after a while, and the blocked read fails
 * with a message saying so instead of hanging.
 */
final class Watchdog {
    private final NbdAddress address;
    private final Duration limit;
    private final CompletableFuture<Void> timer;
    private volatile boolean fired;

    Watchdog(SocketChannel ch, NbdAddress address, Duration limit) {
        this.address = address;
        this.limit = limit;
        this.timer = CompletableFuture.runAsync(() -> {
            fired = true;
            try {
                ch.close();
            } catch (IOException e) {
                // closing is all there is to do
            }
        }, CompletableFuture.delayedExecutor(limit.toMillis(), TimeUnit.MILLISECONDS));
    }

    /** The handshake is over (a cancelled timer never fires). */
    void done() {
        timer.cancel(false);
    }

    /** The failure to report: one that names the timeout when it caused e. */
    IOException explain(IOException e) {
        return fired ? new NbdException("the NBD server at " + address + " did not complete the handshake within "
                + limit.toMillis() / 1000.0 + " s (busy with another client?)", e) : e;
    }
}
