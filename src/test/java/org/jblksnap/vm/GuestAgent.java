package org.jblksnap.vm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.jblksnap.testutil.Await;

/**
 * The host's end of a guest's agent channel, held open from the guest's boot as libvirt holds
 * the QEMU guest agent's: a virtio-serial port that is first connected minutes after boot
 * never delivers the host's bytes to the guest (seen here under TCG), one held from the start
 * does. Take hooks reach the guest through it: each connection to {@link #hookSocket} sends
 * one command line and gets the guest's answer line back.
 */
final class GuestAgent implements AutoCloseable {
    final Path hookSocket;
    private final SocketChannel guest;
    private final BufferedReader fromGuest;
    private final OutputStream toGuest;
    private final ServerSocketChannel hooks;
    private final Thread acceptor;

    private GuestAgent(Path hookSocket, SocketChannel guest, ServerSocketChannel hooks) {
        this.hookSocket = hookSocket;
        this.guest = guest;
        this.fromGuest = new BufferedReader(new InputStreamReader(Channels.newInputStream(guest), StandardCharsets.UTF_8));
        this.toGuest = Channels.newOutputStream(guest);
        this.hooks = hooks;
        this.acceptor = Thread.ofVirtual().name("guest-agent-hooks").start(this::serveHooks);
    }

    static GuestAgent hold(Path agentSocket, Path hookSocket) throws Exception {
        Await.until(Duration.ofSeconds(30), () -> Files.exists(agentSocket), () -> "QEMU made no " + agentSocket);
        SocketChannel guest = SocketChannel.open(StandardProtocolFamily.UNIX);
        guest.connect(UnixDomainSocketAddress.of(agentSocket));
        ServerSocketChannel hooks = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        hooks.bind(UnixDomainSocketAddress.of(hookSocket));
        return new GuestAgent(hookSocket, guest, hooks);
    }

    private void serveHooks() {
        while (hooks.isOpen()) {
            try (SocketChannel hook = hooks.accept()) {
                String command = new BufferedReader(new InputStreamReader(Channels.newInputStream(hook),
                        StandardCharsets.UTF_8)).readLine();
                toGuest.write((command + "\n").getBytes(StandardCharsets.UTF_8));
                toGuest.flush();
                String answer = fromGuest.readLine();
                Channels.newOutputStream(hook).write((answer + "\n").getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                if (!hooks.isOpen()) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        hooks.close();
        guest.close();
        acceptor.join();
        Files.deleteIfExists(hookSocket);
    }
}
