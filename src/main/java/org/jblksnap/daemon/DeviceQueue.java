package org.jblksnap.daemon;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One job run per device at a time, the others queued in the order they came: a run takes
 * all its devices at once when none of them is busy and no run queued before it wants one
 * of them (first come, first served, and no deadlock between runs of overlapping devices).
 */
final class DeviceQueue {
    private final Set<String> busy = new HashSet<>();
    private final List<Ticket> waiting = new ArrayList<>();

    /** One waiting run (by identity: two runs of one job want equal sets). */
    private static final class Ticket {
        final Set<String> devices;

        Ticket(Set<String> devices) {
            this.devices = devices;
        }
    }

    /** Waits for the devices and takes them; interrupted, it takes nothing. */
    synchronized void acquire(Set<String> devices) throws InterruptedException {
        Ticket me = new Ticket(devices);
        waiting.add(me);
        try {
            while (!canGo(me)) {
                wait();
            }
            busy.addAll(devices);
        } finally {
            waiting.remove(me);
            notifyAll();
        }
    }

    synchronized void release(Set<String> devices) {
        busy.removeAll(devices);
        notifyAll();
    }

    /** The devices some run holds now. */
    synchronized Set<String> busy() {
        return Set.copyOf(busy);
    }

    private boolean canGo(Ticket me) {
        if (!Collections.disjoint(busy, me.devices)) {
            return false;
        }
        for (Ticket earlier : waiting) {
            if (earlier == me) {
                return true;
            }
            if (!Collections.disjoint(earlier.devices, me.devices)) {
                return false;
            }
        }
        return true;
    }
}
