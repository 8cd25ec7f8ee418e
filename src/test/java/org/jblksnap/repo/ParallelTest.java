package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The pool under restore, verify and copy: every item is run, and the first failure of any
 * kind is the caller's. An Error in a worker (out of memory while a block is assembled) that
 * ended the worker alone would let a restore report success with that block never written.
 */
@Timeout(60)
class ParallelTest {
    private static final List<Integer> ITEMS = IntStream.range(0, 200).boxed().toList();

    @Test
    void everyItemRuns() throws IOException {
        AtomicInteger sum = new AtomicInteger();
        Parallel.forEach(3, ITEMS, sum::addAndGet);
        assertEquals(199 * 200 / 2, sum.get());
    }

    @Test
    void anIoFailureIsTheCallersAndStopsTheRest() {
        AtomicInteger ran = new AtomicInteger();
        IOException failure = new IOException("block 7 unreadable");
        IOException e = assertThrows(IOException.class, () -> Parallel.forEach(2, ITEMS, i -> {
            ran.incrementAndGet();
            if (i == 7) {
                throw failure;
            }
        }));
        assertSame(failure, e);
        assertTrue(ran.get() < ITEMS.size(), "items after the failure were not all run: " + ran.get());
    }

    @Test
    void anErrorInAWorkerIsTheCallersAsItIs() {
        OutOfMemoryError oom = new OutOfMemoryError("Java heap space (thrown by the test)");
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> Parallel.forEach(2, ITEMS, i -> {
            if (i == 50) {
                throw oom;
            }
        }));
        assertSame(oom, e);
    }
}
