package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * PackSegments over an object held in memory: what it reads is the object's bytes, each
 * segment is fetched once, a pack read in order is fetched ahead on other threads, reads
 * that jump about fetch only what they ask for, and a failed fetch is tried again.
 */
class PackSegmentsTest {
    private static final int SEG = 1024;
    private static final byte[] OBJECT = Points.random(10 * SEG + 100, 7);

    /** The fetches made, as "offset by thread-kind", and a switch to fail the next one. */
    private final List<String> fetches = new CopyOnWriteArrayList<>();
    private final AtomicInteger failNext = new AtomicInteger();

    private byte[] fetch(String name, long offset, int length) throws IOException {
        fetches.add(offset + "+" + length + (Thread.currentThread().isVirtual() ? " ahead" : " asked"));
        if (failNext.getAndDecrement() > 0) {
            throw new IOException("the gateway went away");
        }
        if (offset >= OBJECT.length) {
            return new byte[0];
        }
        return Arrays.copyOfRange(OBJECT, (int) offset, (int) Math.min(OBJECT.length, offset + length));
    }

    private static byte[] slice(long offset, int length) {
        return Arrays.copyOfRange(OBJECT, (int) offset, (int) Math.min(OBJECT.length, offset + length));
    }

    @Test
    void aPackReadInOrderIsFetchedOnceEachAndAhead() throws Exception {
        PackSegments s = new PackSegments(SEG, 48, this::fetch);
        for (long at = 0; at < OBJECT.length; at += 200) {
            assertArrayEquals(slice(at, 200), s.read("p", at, 200), "bytes at " + at);
        }
        Thread.sleep(200); // read-ahead of the segment past the end may still be under way
        assertEquals("0+200 asked", fetches.getFirst(), "the first read jumps: its bytes only");
        List<String> segments = fetches.subList(1, fetches.size());
        long distinct = segments.stream().map(f -> f.split(" ")[0]).distinct().count();
        assertEquals(segments.size(), distinct, "no segment fetched twice: " + fetches);
        assertTrue(segments.stream().allMatch(f -> f.contains("+" + SEG + " ") || f.contains("+" + PackSegments.RUN * SEG + " ")),
                "then whole segments, or runs of them: " + fetches);
        assertTrue(fetches.stream().filter(f -> f.endsWith("ahead")).count() >= 2,
                "most segments came ahead of their reads: " + fetches);
    }

    /**
     * Read in order, a pack is fetched ahead {@link PackSegments#RUN} segments a request (each
     * request costs a round trip and the server's lookup: 1 MiB a request made a restore from
     * a bucket twice the requests), and nothing past its end once a fetch came back short.
     * Slow reads (a restore decoding each entry) let every fetch ahead finish before the next
     * read, as they mostly do.
     */
    @Test
    void aPackReadInOrderIsFetchedAheadInRunsAndNotPastItsEnd() throws Exception {
        byte[] big = Points.random(40 * SEG + 100, 9);
        PackSegments s = new PackSegments(SEG, 48, (name, offset, length) -> {
            fetches.add(offset + "+" + length + (Thread.currentThread().isVirtual() ? " ahead" : " asked"));
            int from = (int) Math.min(offset, big.length);
            return Arrays.copyOfRange(big, from, (int) Math.min(big.length, offset + length));
        });
        for (long at = 0; at < big.length; at += SEG / 2) {
            int n = (int) Math.min(SEG / 2, big.length - at);
            assertArrayEquals(Arrays.copyOfRange(big, (int) at, (int) at + n), s.read("p", at, SEG / 2), "bytes at " + at);
            Thread.sleep(5);
        }
        Thread.sleep(200);
        List<String> ahead = fetches.stream().filter(f -> f.endsWith("ahead")).toList();
        assertTrue(ahead.stream().allMatch(f -> f.contains("+" + PackSegments.RUN * SEG + " ")),
                "ahead in runs of " + PackSegments.RUN + " segments: " + fetches);
        assertTrue(fetches.size() <= 16, "41 segments in few requests (42 at a segment a request): " + fetches);
        assertTrue(fetches.stream().allMatch(f -> Long.parseLong(f.split("\\+")[0]) < big.length),
                "nothing fetched past the end: " + fetches);
        long distinct = fetches.stream().map(f -> f.split(" ")[0]).distinct().count();
        assertEquals(fetches.size(), distinct, "no range fetched twice: " + fetches);
    }

    @Test
    void readsThatJumpAboutFetchOnlyWhatTheyAskFor() throws Exception {
        PackSegments s = new PackSegments(SEG, 48, this::fetch);
        for (long seg : new long[] {5, 1, 8, 3}) {
            assertArrayEquals(slice(seg * SEG + 10, 50), s.read("p", seg * SEG + 10, 50));
        }
        assertArrayEquals(slice(2 * SEG, 600), s.read("p", 2 * SEG, 600), "a large read takes its segments");
        Thread.sleep(200);
        assertEquals(List.of("5130+50 asked", "1034+50 asked", "8202+50 asked", "3082+50 asked", "2048+1024 asked"),
                fetches);
    }

    @Test
    void aReadAcrossSegmentsAndPastTheEndIsCutAtTheEnd() throws Exception {
        PackSegments s = new PackSegments(SEG, 48, this::fetch);
        assertArrayEquals(slice(SEG - 10, 3 * SEG), s.read("p", SEG - 10, 3 * SEG));
        assertArrayEquals(slice(10 * SEG, 500), s.read("p", 10 * SEG, 500), "100 bytes: the object ends");
        assertEquals(0, s.read("p", 20 * SEG, 10).length);
    }

    /**
     * A run fetched ahead is forgotten whole when its least recently used segment goes: a
     * segment of it kept alone would keep the bytes of all (capacity x RUN segments at worst).
     */
    @Test
    void aRunIsForgottenWhole() throws Exception {
        PackSegments s = new PackSegments(SEG, 2 + PackSegments.RUN, this::fetch);
        s.read("p", 0, SEG);
        s.read("p", SEG, SEG); // in order: two runs ahead, from segment 2 and 2 + RUN
        Thread.sleep(200);
        // kept were 0, 1, then the first run; the second run's segments pushed out 0 and 1, then
        // the first run's first segment, and with it the rest of that run
        fetches.clear();
        long last = (1L + PackSegments.RUN) * SEG;
        assertArrayEquals(slice(last, 10), s.read("p", last, 10));
        assertEquals(List.of(last + "+10 asked"), fetches, "the first run's last segment went with it");
    }

    /**
     * An Error in a fetch (out of memory, say) completes the segment's future too: without it,
     * every later reader of that segment waited forever on a fetch that had died.
     */
    @Test
    void anErrorInAFetchReachesItsReaderAndLeavesNoOneWaiting() throws Exception {
        AtomicInteger errors = new AtomicInteger(1);
        PackSegments s = new PackSegments(SEG, 48, (name, offset, length) -> {
            if (errors.getAndDecrement() > 0) {
                throw new OutOfMemoryError("no room for the segment");
            }
            return fetch(name, offset, length);
        });
        assertThrows(OutOfMemoryError.class, () -> s.read("p", 0, 600));
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> {
            assertArrayEquals(slice(0, 600), s.read("p", 0, 600));
        });
    }

    /** The same for a read-ahead: the reader that finds it failed fetches the segment itself. */
    @Test
    void anErrorInAReadAheadLeavesTheReaderToFetchItself() throws Exception {
        PackSegments s = new PackSegments(SEG, 48, (name, offset, length) -> {
            if (Thread.currentThread().isVirtual() && offset == 2L * SEG) {
                throw new OutOfMemoryError("no room for the segment");
            }
            return fetch(name, offset, length);
        });
        s.read("p", 0, 600);
        s.read("p", SEG, 600); // in order: segments 2 and 3 are fetched ahead, 2 fails
        Thread.sleep(200);
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> {
            assertArrayEquals(slice(2L * SEG, 600), s.read("p", 2L * SEG, 600));
        });
    }

    @Test
    void aFailedFetchReachesTheReaderAndIsTriedAgain() throws Exception {
        PackSegments s = new PackSegments(SEG, 48, this::fetch);
        failNext.set(1);
        IOException e = assertThrows(IOException.class, () -> s.read("p", 0, 10));
        assertEquals("the gateway went away", e.getMessage());
        assertArrayEquals(slice(0, 10), s.read("p", 0, 10));
        s.forget("p");
        fetches.clear();
        assertArrayEquals(slice(0, 10), s.read("p", 0, 10));
        assertEquals(List.of("0+10 asked"), fetches, "a forgotten pack is fetched again");
    }
}
