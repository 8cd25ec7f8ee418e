package org.jblksnap.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.SplittableRandom;

import org.jblksnap.repo.EntryTable.Location;
import org.junit.jupiter.api.Test;

class EntryTableTest {
    private static Hash hash(SplittableRandom r) {
        return new Hash(r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong());
    }

    @Test
    void manyEntriesAreFoundWhereTheyWereRecordedAcrossGrowth() {
        EntryTable t = new EntryTable();
        int n = 300_000;
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < n; i++) {
            assertTrue(t.put(EntryType.CHUNK, hash(r), i % 977, 12L + 31L * i, 1000 + i % 5000));
        }
        assertEquals(n, t.size());
        r = new SplittableRandom(1);
        for (int i = 0; i < n; i++) {
            Hash h = hash(r);
            assertEquals(i, t.find(EntryType.CHUNK, h), "entry numbers follow the order of recording");
            assertEquals(new Location(i % 977, 12L + 31L * i, 1000 + i % 5000), t.get(EntryType.CHUNK, h));
        }
        SplittableRandom absent = new SplittableRandom(2);
        for (int i = 0; i < 10_000; i++) {
            assertNull(t.get(EntryType.CHUNK, hash(absent)));
        }
    }

    @Test
    void hashesSharingTheirFirstEightBytesAreToldApartByTheRest() {
        EntryTable t = new EntryTable();
        long prefix = 0x0123_4567_89ab_cdefL;
        Random r = new Random(3);
        int n = 5_000;
        Hash[] same = new Hash[n];
        for (int i = 0; i < n; i++) {
            same[i] = new Hash(prefix, r.nextLong(), r.nextLong(), i);
            assertTrue(t.put(EntryType.CHUNK, same[i], 1, i, i));
        }
        // others whose first 8 bytes land in the same slots, interleaved
        for (int i = 0; i < n; i++) {
            t.put(EntryType.CHUNK, new Hash(prefix + i, 0, 0, 0), 2, i, i);
        }
        for (int i = 0; i < n; i++) {
            assertEquals(new Location(1, i, i), t.get(EntryType.CHUNK, same[i]));
            assertEquals(new Location(2, i, i), t.get(EntryType.CHUNK, new Hash(prefix + i, 0, 0, 0)));
        }
        assertNull(t.get(EntryType.CHUNK, new Hash(prefix, 1, 2, 3)), "same prefix, other hash: absent");
        assertNull(t.get(EntryType.CHUNK, new Hash(prefix, same[7].b(), same[7].c(), same[7].d() + n)));
    }

    @Test
    void theTypeIsPartOfTheKeyAndTheFirstCopyStays() {
        EntryTable t = new EntryTable();
        Hash h = new Hash(5, 6, 7, 8);
        assertTrue(t.put(EntryType.CHUNK, h, 3, 100, 10));
        assertNull(t.get(EntryType.MANIFEST, h), "a chunk is not a manifest");
        assertTrue(t.put(EntryType.MANIFEST, h, 4, 200, 20));
        assertFalse(t.put(EntryType.CHUNK, h, 9, 900, 90), "a second copy is not recorded");
        assertEquals(new Location(3, 100, 10), t.get(EntryType.CHUNK, h));
        assertEquals(new Location(4, 200, 20), t.get(EntryType.MANIFEST, h));
        assertEquals(2, t.size());
    }

    @Test
    void offsetsUpToFourGibibytesAndLargePackNumbersRoundTrip() {
        EntryTable t = new EntryTable();
        Hash h = new Hash(1, 1, 1, 1);
        t.put(EntryType.MANIFEST, h, Integer.MAX_VALUE >>> 1, 0xFFFF_FFFFL, Integer.MAX_VALUE);
        assertEquals(new Location(Integer.MAX_VALUE >>> 1, 0xFFFF_FFFFL, Integer.MAX_VALUE), t.get(EntryType.MANIFEST, h));
        assertThrows(IllegalArgumentException.class, () -> t.put(EntryType.CHUNK, h, 0, 1L << 32, 1));
        assertThrows(IllegalArgumentException.class, () -> t.put(EntryType.CHUNK, h, -1, 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> t.location(1));
    }
}
