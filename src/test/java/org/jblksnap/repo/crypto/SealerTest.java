package org.jblksnap.repo.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.SplittableRandom;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;

/** AES-256-GCM sealing: round trips, and every change to a sealed object or its label is detected. */
class SealerTest {
    private static final ObjectLabel POINT_7 = ObjectLabel.of("point", "7");
    private final SecureRandom random = new SecureRandom();
    private final byte[] key = bytes(32, 1);
    private final Sealer sealer = new Sealer(key, random);

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @Test
    void roundTripsEveryLengthWithTheDocumentedOverhead() throws Exception {
        for (int n : new int[] {0, 1, 15, 16, 17, 4096, 65536 + 3}) {
            byte[] plain = bytes(n, n);
            byte[] sealed = sealer.seal(POINT_7, plain);
            assertEquals(n + Sealer.OVERHEAD, sealed.length);
            assertArrayEquals(plain, sealer.open(POINT_7, sealed));
        }
    }

    @Test
    void sealsARangeAndOpensARange() throws Exception {
        byte[] buf = bytes(100, 3);
        byte[] sealed = sealer.seal(POINT_7, buf, 10, 50);
        byte[] framed = new byte[sealed.length + 9];
        System.arraycopy(sealed, 0, framed, 4, sealed.length);
        assertArrayEquals(Arrays.copyOfRange(buf, 10, 60), sealer.open(POINT_7, framed, 4, sealed.length));
    }

    @Test
    void opensIntoACallersBufferAtAnOffsetAndTouchesNothingElse() throws Exception {
        for (int n : new int[] {0, 1, 17, 4096, 65536 + 3}) {
            byte[] plain = bytes(n, n);
            byte[] sealed = sealer.seal(POINT_7, plain);
            byte[] framed = new byte[sealed.length + 9];
            System.arraycopy(sealed, 0, framed, 4, sealed.length);
            byte[] out = new byte[n + 10];
            Arrays.fill(out, (byte) 0x5a);
            assertEquals(n, sealer.open(POINT_7, framed, 4, sealed.length, out, 7));
            assertArrayEquals(plain, Arrays.copyOfRange(out, 7, 7 + n), "length " + n);
            for (int i : new int[] {0, 6, n + 7, n + 9}) {
                assertEquals(0x5a, out[i], "byte " + i + " of length " + n);
            }
        }
    }

    @Test
    void aDamagedObjectOpenedIntoABufferIsRefusedAsWhenOpenedIntoANewOne() {
        byte[] sealed = sealer.seal(POINT_7, bytes(4096, 9));
        byte[] out = new byte[4096];
        for (int at : new int[] {0, 11, 12, 2000, sealed.length - 1}) {
            byte[] bad = sealed.clone();
            bad[at] ^= 1;
            String expected = assertThrows(AuthenticationFailedException.class, () -> sealer.open(POINT_7, bad))
                    .getMessage();
            AuthenticationFailedException e = assertThrows(AuthenticationFailedException.class,
                    () -> sealer.open(POINT_7, bad, 0, bad.length, out, 0), "byte " + at);
            assertEquals(expected, e.getMessage());
        }
        byte[] cut = Arrays.copyOf(sealed, Sealer.OVERHEAD - 1);
        assertEquals(assertThrows(AuthenticationFailedException.class, () -> sealer.open(POINT_7, cut)).getMessage(),
                assertThrows(AuthenticationFailedException.class,
                        () -> sealer.open(POINT_7, cut, 0, cut.length, out, 0)).getMessage());
    }

    @Test
    void aBufferWithoutRoomOrOverlappingTheObjectIsRefusedClearly() {
        byte[] sealed = sealer.seal(POINT_7, bytes(100, 10));
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> sealer.open(POINT_7, sealed, 0, sealed.length, new byte[104], 5));
        assertEquals("no room for the 100 bytes of point 7 in 99 bytes from 5 of a buffer of 104",
                small.getMessage());
        byte[] framed = Arrays.copyOf(sealed, sealed.length + 100);
        IllegalArgumentException over = assertThrows(IllegalArgumentException.class,
                () -> sealer.open(POINT_7, framed, 0, sealed.length, framed, 50));
        assertEquals("opening point 7 over its own sealed bytes", over.getMessage());
    }

    /** The layout docs/REPOSITORY.md gives: nonce (12) | ciphertext | tag (16), AD = type 0x00 name. */
    @Test
    void theLayoutIsNonceCiphertextTagWithTheLabelAsAssociatedData() throws Exception {
        byte[] plain = "a point file".getBytes(StandardCharsets.UTF_8);
        byte[] sealed = sealer.seal(POINT_7, plain);
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"),
                new GCMParameterSpec(128, Arrays.copyOfRange(sealed, 0, 12)));
        c.updateAAD("point\0007".getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(plain, c.doFinal(sealed, 12, sealed.length - 12));
    }

    @Test
    void everyFlippedBitIsDetectedAndNamesTheObject() {
        byte[] sealed = sealer.seal(POINT_7, bytes(40, 4));
        for (int bit = 0; bit < sealed.length * 8; bit++) {
            byte[] bad = sealed.clone();
            bad[bit / 8] ^= (byte) (1 << (bit % 8));
            AuthenticationFailedException e = assertThrows(AuthenticationFailedException.class,
                    () -> sealer.open(POINT_7, bad), "bit " + bit);
            assertEquals(POINT_7, e.label());
            assertTrue(e.getMessage().startsWith("authentication failed for point 7: "), e.getMessage());
        }
    }

    @Test
    void truncatedOrExtendedObjectsAreDetected() {
        byte[] sealed = sealer.seal(POINT_7, bytes(40, 5));
        for (int n = 0; n < sealed.length; n++) {
            byte[] cut = Arrays.copyOf(sealed, n);
            assertThrows(AuthenticationFailedException.class, () -> sealer.open(POINT_7, cut), "length " + n);
        }
        assertThrows(AuthenticationFailedException.class, () -> sealer.open(POINT_7, Arrays.copyOf(sealed,
                sealed.length + 1)));
    }

    @Test
    void anObjectOpenedAsAnotherIsDetected() {
        byte[] sealed = sealer.seal(POINT_7, bytes(40, 6));
        for (ObjectLabel other : new ObjectLabel[] {ObjectLabel.of("point", "8"), ObjectLabel.of("point", "70"),
                ObjectLabel.of("pack-entry", "7"), ObjectLabel.of("poin", "t7")}) {
            AuthenticationFailedException e = assertThrows(AuthenticationFailedException.class,
                    () -> sealer.open(other, sealed));
            assertTrue(e.getMessage().contains(other.toString()), e.getMessage());
        }
    }

    @Test
    void anotherKeyDoesNotOpen() {
        byte[] sealed = sealer.seal(POINT_7, bytes(40, 7));
        Sealer other = new Sealer(bytes(32, 2), random);
        assertThrows(AuthenticationFailedException.class, () -> other.open(POINT_7, sealed));
    }

    @Test
    void sealingTwiceGivesDifferentNonces() {
        byte[] plain = bytes(40, 8);
        byte[] a = sealer.seal(POINT_7, plain);
        byte[] b = sealer.seal(POINT_7, plain);
        assertFalse(Arrays.equals(Arrays.copyOf(a, 12), Arrays.copyOf(b, 12)));
        assertFalse(Arrays.equals(a, b));
    }

    @Test
    void labelsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> ObjectLabel.of("Point", "1"));
        assertThrows(IllegalArgumentException.class, () -> ObjectLabel.of("po\0int", "1"));
        assertThrows(IllegalArgumentException.class, () -> ObjectLabel.of("point", "1\0"));
        assertThrows(IllegalArgumentException.class, () -> new Sealer(new byte[16], random));
    }
}
