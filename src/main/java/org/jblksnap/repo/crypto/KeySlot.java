package org.jblksnap.repo.crypto;

import java.time.Instant;
import java.util.Base64;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One stored key: the master key sealed under a key derived from one passphrase or key file.
 * The JSON fields and their bytes are in docs/REPOSITORY.md, "Keys". Binary fields are
 * Base64; nonce | ciphertext | tag is a {@link Sealer} object labelled
 * {@code ("key", kdf.toString())}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record KeySlot(String format, int version, String kind, Kdf kdf, String salt, String nonce, String ciphertext,
        String tag, String created, String host) {
    static final String FORMAT = "jblksnap-key";
    static final int VERSION = 1;
    static final int SALT_BYTES = 32;

    static KeySlot of(Credential.Kind kind, Kdf kdf, byte[] salt, byte[] sealed, Instant created, String host) {
        Base64.Encoder b = Base64.getEncoder();
        int n = sealed.length - Sealer.OVERHEAD;
        return new KeySlot(FORMAT, VERSION, kind.json(), kdf, b.encodeToString(salt),
                b.encodeToString(java.util.Arrays.copyOfRange(sealed, 0, Sealer.NONCE_BYTES)),
                b.encodeToString(java.util.Arrays.copyOfRange(sealed, Sealer.NONCE_BYTES, Sealer.NONCE_BYTES + n)),
                b.encodeToString(java.util.Arrays.copyOfRange(sealed, Sealer.NONCE_BYTES + n, sealed.length)),
                created.toString(), host);
    }

    /** Throws IllegalArgumentException unless every field is present and well-formed. */
    void check() {
        if (!FORMAT.equals(format)) {
            throw new IllegalArgumentException("not a " + FORMAT + " (format " + format + ")");
        }
        if (version != VERSION) {
            throw new IllegalArgumentException("key format version " + version + " is not supported (this jblksnap reads "
                    + VERSION + ")");
        }
        Credential.Kind.of(kind);
        if (kdf == null) {
            throw new IllegalArgumentException("no kdf");
        }
        kdf.check();
        if (kind().equals(Credential.Kind.PASSPHRASE.json()) != kdf.name().equals(Kdf.ARGON2ID)) {
            throw new IllegalArgumentException("a " + kind + " key cannot use " + kdf.name());
        }
        bytes("salt", salt, SALT_BYTES);
        bytes("nonce", nonce, Sealer.NONCE_BYTES);
        bytes("ciphertext", ciphertext, MasterKey.ENCODED_BYTES);
        bytes("tag", tag, Sealer.TAG_BYTES);
    }

    Credential.Kind credentialKind() {
        return Credential.Kind.of(kind);
    }

    byte[] saltBytes() {
        return Base64.getDecoder().decode(salt);
    }

    /** nonce | ciphertext | tag. */
    byte[] sealed() {
        Base64.Decoder d = Base64.getDecoder();
        byte[] n = d.decode(nonce);
        byte[] c = d.decode(ciphertext);
        byte[] t = d.decode(tag);
        byte[] out = new byte[n.length + c.length + t.length];
        System.arraycopy(n, 0, out, 0, n.length);
        System.arraycopy(c, 0, out, n.length, c.length);
        System.arraycopy(t, 0, out, n.length + c.length, t.length);
        return out;
    }

    private static void bytes(String field, String value, int length) {
        if (value == null) {
            throw new IllegalArgumentException("no " + field);
        }
        byte[] b;
        try {
            b = Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + " is not Base64");
        }
        if (b.length != length) {
            throw new IllegalArgumentException(field + " has " + b.length + " bytes, not " + length);
        }
    }
}
