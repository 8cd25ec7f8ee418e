package org.jblksnap.repo.crypto;

import java.security.GeneralSecurityException;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Keyed chunk ids: HMAC-SHA256 of a chunk's plaintext under the repository's id key, so
 * whoever holds the store without the key cannot tell whether it holds a given content (a
 * plain SHA-256 would confirm it). Thread-safe: each thread keeps a clone of a keyed prototype
 * (a Mac is reset by doFinal, ready for the next id).
 */
public final class ChunkIds {
    public static final int KEY_BYTES = 32;
    public static final int ID_BYTES = 32;
    private static final String ALGORITHM = "HmacSHA256";

    private final Mac prototype;
    private final ThreadLocal<Mac> perThread = ThreadLocal.withInitial(this::fresh);

    /** HMAC-SHA256 under key (a repository's id key has {@value #KEY_BYTES} bytes). */
    ChunkIds(byte[] key) {
        if (key.length == 0) {
            throw new IllegalArgumentException("an empty chunk id key");
        }
        try {
            prototype = Mac.getInstance(ALGORITHM);
            prototype.init(new SecretKeySpec(key, ALGORITHM));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available in this JDK", e);
        }
    }

    public byte[] id(byte[] data) {
        return id(data, 0, data.length);
    }

    /** HMAC-SHA256(id key, data[off, off + len)). */
    public byte[] id(byte[] data, int off, int len) {
        Mac m = perThread.get();
        m.update(data, off, len);
        return m.doFinal();
    }

    private Mac fresh() {
        try {
            return (Mac) prototype.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("the JDK's HMAC-SHA256 cannot be cloned", e);
        }
    }
}
