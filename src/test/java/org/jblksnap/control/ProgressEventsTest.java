package org.jblksnap.control;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProgressEventsTest {
    @TempDir
    Path dir;

    /**
     * The verb ends (its ProgressEvents closed) while the ticker is writing an "alive" event
     * (here: held in ControlEvents.send until the close was called; a slow client's full
     * socket buffer, or the connection's lock held by the run's last note, does the same).
     * Closing must not close the connection under the reply the verb sends next (an interrupt
     * of a thread in, or entering, a channel write closes the channel).
     */
    @Test
    void closingWhileTheTickerSendsLeavesTheConnectionOpenForTheReply() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(dir.resolve("s")));
            try (SocketChannel client = SocketChannel.open(server.getLocalAddress());
                    SocketChannel daemonSide = server.accept()) {
                OutputStream out = Channels.newOutputStream(daemonSide);
                CountDownLatch tickerSends = new CountDownLatch(1);
                AtomicBoolean release = new AtomicBoolean();
                AtomicBoolean gone = new AtomicBoolean();
                ControlEvents events = event -> {
                    byte[] line = (ControlProtocol.JSON.writeValueAsString(event) + "\n").getBytes(StandardCharsets.UTF_8);
                    tickerSends.countDown();
                    while (!release.get()) {
                        Thread.onSpinWait(); // not interruptible, as a wait for a monitor is not
                    }
                    synchronized (out) { // ControlServer.send
                        out.write(line);
                        out.flush();
                    }
                };
                ProgressEvents progress = new ProgressEvents(events, () -> gone.set(true));
                assertTrue(tickerSends.await(5, TimeUnit.SECONDS), "the ticker sends within a second");
                Thread closer = Thread.ofPlatform().start(progress::close); // the verb ended
                Thread.sleep(200);
                release.set(true);
                closer.join(5000);
                assertFalse(closer.isAlive(), "close returns once the event is written");
                assertTrue(daemonSide.isOpen(), "closing the progress closed the client's connection");
                assertDoesNotThrow(() -> {
                    synchronized (out) {
                        out.write("{\"reply\":true}\n".getBytes(StandardCharsets.UTF_8));
                        out.flush();
                    }
                }, "the verb's reply");
                assertFalse(gone.get(), "the client did not go away");
            }
        }
    }
}
