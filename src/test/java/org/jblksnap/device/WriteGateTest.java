package org.jblksnap.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class WriteGateTest {
    private final WriteGate gate = new WriteGate();

    @Test
    void freezeWaitsForIoInFlight() throws Exception {
        assertTrue(gate.enter());
        AtomicBoolean frozen = new AtomicBoolean();
        Thread freezer = Thread.ofPlatform().start(() -> {
            gate.freeze();
            frozen.set(true);
        });
        awaitParked(freezer);
        assertFalse(frozen.get(), "frozen with I/O in flight");
        gate.exit();
        freezer.join();
        assertTrue(frozen.get());
        gate.thaw();
    }

    @Test
    void entriesWaitWhileFrozenAndGoOnAtThaw() throws Exception {
        gate.freeze();
        CompletableFuture<Boolean> entered = new CompletableFuture<>();
        Thread writer = Thread.ofPlatform().start(() -> entered.complete(gate.enter()));
        awaitParked(writer);
        assertFalse(entered.isDone(), "entered while frozen");
        gate.thaw();
        assertTrue(entered.get(10, TimeUnit.SECONDS));
        gate.exit();
    }

    @Test
    void closeDrainsThenRefusesForGood() throws Exception {
        assertTrue(gate.enter());
        Thread closer = Thread.ofPlatform().start(gate::close);
        awaitParked(closer);
        gate.exit();
        closer.join();
        assertFalse(gate.enter());
        assertFalse(gate.enter());
    }

    @Test
    void oneFreezerAtATime() {
        gate.freeze();
        assertThrows(IllegalStateException.class, gate::freeze);
        gate.thaw();
        gate.freeze();
        gate.thaw();
        assertTrue(gate.enter());
        gate.exit();
    }

    @Test
    void noIoIsInsideAFreezeUnderLoad() throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger violations = new AtomicInteger();
        AtomicInteger entries = new AtomicInteger();
        Thread[] writers = new Thread[3];
        for (int i = 0; i < writers.length; i++) {
            writers[i] = Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    if (gate.enter()) {
                        inside.incrementAndGet();
                        entries.incrementAndGet();
                        inside.decrementAndGet();
                        gate.exit();
                    }
                }
            });
        }
        for (int round = 0; round < 2000; round++) {
            gate.freeze();
            if (inside.get() != 0) {
                violations.incrementAndGet();
            }
            gate.thaw();
        }
        stop.set(true);
        for (Thread w : writers) {
            w.join();
        }
        assertEquals(0, violations.get());
        assertTrue(entries.get() > 0);
    }

    /** Waits, without sleeping, until t blocks (or ends). */
    private static void awaitParked(Thread t) {
        while (true) {
            Thread.State s = t.getState();
            if (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING || s == Thread.State.BLOCKED
                    || s == Thread.State.TERMINATED) {
                return;
            }
            Thread.onSpinWait();
        }
    }
}
