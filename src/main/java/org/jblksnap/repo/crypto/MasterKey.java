package org.jblksnap.repo.crypto;

import java.security.SecureRandom;
import java.util.Arrays;

/**
 * A repository's secret: two independent random 256-bit keys, one that seals objects
 * (AES-256-GCM) and one that keys chunk ids (HMAC-SHA256). It is made once at init and
 * never changes; passphrases and key files only wrap it ({@link KeyRing}), so rotating them
 * rewrites no data. Encoded (inside a wrapped key) as seal key | id key, 64 bytes.
 */
public final class MasterKey {
    static final int ENCODED_BYTES = Sealer.KEY_BYTES + ChunkIds.KEY_BYTES;

    private final byte[] encoded;
    private final Sealer sealer;
    private final ChunkIds chunkIds;

    private MasterKey(byte[] encoded, SecureRandom random) {
        if (encoded.length != ENCODED_BYTES) {
            throw new IllegalArgumentException("a master key has " + ENCODED_BYTES + " bytes, not " + encoded.length);
        }
        this.encoded = encoded.clone();
        this.sealer = new Sealer(Arrays.copyOfRange(encoded, 0, Sealer.KEY_BYTES), random);
        this.chunkIds = new ChunkIds(Arrays.copyOfRange(encoded, Sealer.KEY_BYTES, ENCODED_BYTES));
    }

    /** A new random master key. */
    public static MasterKey generate(SecureRandom random) {
        byte[] k = new byte[ENCODED_BYTES];
        random.nextBytes(k);
        return new MasterKey(k, random);
    }

    static MasterKey decode(byte[] encoded, SecureRandom random) {
        return new MasterKey(encoded, random);
    }

    byte[] encoded() {
        return encoded.clone();
    }

    /** Seals and opens the repository's objects. */
    public Sealer sealer() {
        return sealer;
    }

    /** The keyed ids of chunks. */
    public ChunkIds chunkIds() {
        return chunkIds;
    }
}
