package org.jblksnap.repo.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;

/** The RFCs' test vectors through this package's own entry points: the libraries are wired right. */
class KnownAnswerTest {
    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    /** RFC 9106, 5.3: Argon2id, 32 KiB, 3 passes, 4 lanes, with secret and associated data. */
    @Test
    void argon2idOfRfc9106() {
        byte[] tag = new byte[32];
        Kdf.argon2id(32, 3, 4).argon2id(filled(32, 1), filled(16, 2), filled(8, 3), filled(12, 4), tag);
        assertArrayEquals(hex("0d 64 0d f5 8d 78 76 6c 08 c0 37 a3 4a 8b 53 c9 d0 1e f0 45 2d 75 b6 5e b5 25 20 e9 6b 01 e6 59"),
                tag);
    }

    /** The passphrase path (no secret, no associated data) is the same function: salt and password matter. */
    @Test
    void argon2idDeriveIsTheRfcFunctionWithoutSecret() {
        Kdf k = Kdf.argon2id(32, 3, 4);
        byte[] tag = new byte[32];
        k.argon2id(filled(32, 1), filled(16, 2), null, null, tag);
        assertArrayEquals(tag, k.derive(filled(32, 1), filled(16, 2)));
    }

    /** RFC 5869, A.1: HKDF-SHA256 (the key-file KDF). */
    @Test
    void hkdfSha256OfRfc5869() {
        byte[] okm = Kdf.hkdfSha256(filled(22, 0x0b), hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
        assertArrayEquals(hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"), okm);
    }

    /** RFC 4231, test cases 1 and 2: HMAC-SHA256 (the keyed chunk ids). */
    @Test
    void hmacSha256OfRfc4231() {
        assertArrayEquals(hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
                new ChunkIds(filled(20, 0x0b)).id("Hi There".getBytes(StandardCharsets.US_ASCII)));
        ChunkIds jefe = new ChunkIds("Jefe".getBytes(StandardCharsets.US_ASCII));
        byte[] data = "what do ya want for nothing?".getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"), jefe.id(data));
        byte[] framed = new byte[data.length + 5];
        System.arraycopy(data, 0, framed, 2, data.length);
        assertArrayEquals(jefe.id(data), jefe.id(framed, 2, data.length));
        assertEquals(ChunkIds.ID_BYTES, jefe.id(data).length);
    }
}
