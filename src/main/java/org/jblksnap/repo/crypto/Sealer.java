package org.jblksnap.repo.crypto;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM with one key (the JDK's provider, AES-NI where the CPU has it). A sealed object
 * is {@code nonce (12) | ciphertext (as long as the plaintext) | tag (16)}; the nonce is
 * random, the associated data is the object's {@link ObjectLabel}. Random 96-bit nonces keep
 * the chance of a repeat below 2^-32 up to 2^32 seals under one key (NIST SP 800-38D, 8.3).
 * Thread-safe: each thread keeps a Cipher of its own (getting one from the provider each call
 * cost more than sealing a 64 KiB chunk), initialised anew with the key and a nonce per call.
 */
public final class Sealer {
    public static final int KEY_BYTES = 32;
    public static final int NONCE_BYTES = 12;
    public static final int TAG_BYTES = 16;
    /** What sealing adds to the plaintext's length. */
    public static final int OVERHEAD = NONCE_BYTES + TAG_BYTES;
    private static final String TRANSFORMATION = "AES/GCM/NoPadding";
    private static final ThreadLocal<Cipher> CIPHER = ThreadLocal.withInitial(() -> {
        try {
            return Cipher.getInstance(TRANSFORMATION);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JDK", e);
        }
    });

    private final SecretKey key;
    private final SecureRandom random;

    Sealer(byte[] key, SecureRandom random) {
        if (key.length != KEY_BYTES) {
            throw new IllegalArgumentException("an AES-256 key has 32 bytes, not " + key.length);
        }
        this.key = new SecretKeySpec(key, "AES");
        this.random = random;
    }

    public byte[] seal(ObjectLabel label, byte[] plain) {
        return seal(label, plain, 0, plain.length);
    }

    /** Seals plain[off, off + len) as the object label: nonce | ciphertext | tag. */
    public byte[] seal(ObjectLabel label, byte[] plain, int off, int len) {
        byte[] out = new byte[len + OVERHEAD];
        seal(label, plain, off, len, out, 0);
        return out;
    }

    /**
     * Seals plain[off, off + len) as the object label into out at outOff (nonce | ciphertext |
     * tag, len + {@value #OVERHEAD} bytes, which out must have room for); returns that length.
     * out must not overlap plain. No array is allocated for the object: a backup seals every
     * chunk it stores into a buffer of its thread's.
     */
    public int seal(ObjectLabel label, byte[] plain, int off, int len, byte[] out, int outOff) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        System.arraycopy(nonce, 0, out, outOff, NONCE_BYTES);
        try {
            Cipher c = CIPHER.get();
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, nonce));
            c.updateAAD(label.associatedData());
            int n = c.doFinal(plain, off, len, out, outOff + NONCE_BYTES);
            if (n != len + TAG_BYTES) {
                throw new IllegalStateException("AES-GCM wrote " + n + " bytes, not " + (len + TAG_BYTES));
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JDK", e);
        }
        return len + OVERHEAD;
    }

    public byte[] open(ObjectLabel label, byte[] sealed) throws AuthenticationFailedException {
        return open(label, sealed, 0, sealed.length);
    }

    /** The plaintext of a sealed object, or an error naming the object when it does not authenticate. */
    public byte[] open(ObjectLabel label, byte[] sealed, int off, int len) throws AuthenticationFailedException {
        byte[] plain = new byte[Math.max(0, len - OVERHEAD)]; // a length too short is refused as truncated
        open(label, sealed, off, len, plain, 0);
        return plain;
    }

    /**
     * Opens the sealed object at sealed[off, off + len) into out at outOff: its plaintext,
     * len - {@value #OVERHEAD} bytes, which out must have room for; returns that length. out
     * must not overlap sealed. No array is allocated for the plaintext: verify opens every
     * entry of a pack into a buffer of its thread's. When this throws, nothing in out may be
     * used: the JDK's GCM decrypts into out before it checks the tag (and zeroes out when the
     * tag does not match), so out holds the plaintext only once this returns.
     */
    public int open(ObjectLabel label, byte[] sealed, int off, int len, byte[] out, int outOff)
            throws AuthenticationFailedException {
        if (len < OVERHEAD) {
            throw new AuthenticationFailedException(label, "it has " + len + " bytes, fewer than the "
                    + OVERHEAD + " of an empty sealed object (truncated)");
        }
        int plain = len - OVERHEAD;
        if (outOff < 0 || plain > out.length - outOff) {
            throw new IllegalArgumentException("no room for the " + plain + " bytes of " + label + " in "
                    + (out.length - outOff) + " bytes from " + outOff + " of a buffer of " + out.length);
        }
        if (out == sealed && outOff < off + len && off < outOff + plain) {
            throw new IllegalArgumentException("opening " + label + " over its own sealed bytes");
        }
        try {
            Cipher c = CIPHER.get();
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, sealed, off, NONCE_BYTES));
            c.updateAAD(label.associatedData());
            int n = c.doFinal(sealed, off + NONCE_BYTES, len - NONCE_BYTES, out, outOff);
            if (n != plain) {
                throw new IllegalStateException("AES-GCM opened " + n + " bytes, not " + plain);
            }
            return n;
        } catch (AEADBadTagException e) {
            throw new AuthenticationFailedException(label, "it was altered, truncated, or is another object "
                    + "(or the key is not this repository's)");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JDK", e);
        }
    }
}
