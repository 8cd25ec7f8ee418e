package org.jblksnap.repo.crypto;

import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;
import org.bouncycastle.crypto.params.HKDFParameters;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * How a key slot turns its secret into the 256-bit key that wraps the master key: Argon2id
 * (RFC 9106, version 0x13) for a passphrase, which is slow on purpose, or HKDF-SHA256
 * (RFC 5869) for a key file, whose content is already a random key. The parameters are read
 * from a key slot, which anyone with write access to the store can change, so they are
 * bounded: a slot cannot make an unlock take unbounded memory or time.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Kdf(String name, Integer memoryKib, Integer iterations, Integer parallelism) {
    public static final String ARGON2ID = "argon2id";
    public static final String HKDF_SHA256 = "hkdf-sha256";
    /**
     * The passphrase KDF of new keys: 64 MiB, 2 passes, 1 lane (RFC 9106's second recommended
     * option has 64 MiB and 3 passes; Bouncy Castle's Argon2 is pure Java, and one pass less
     * keeps an unlock within about a second on a loaded 2-core machine: 1.05 s measured at a
     * load average of 20, in BENCHMARKS.md, "Repository encryption").
     */
    public static final Kdf DEFAULT_PASSPHRASE = argon2id(64 * 1024, 2, 1);
    public static final Kdf KEY_FILE = new Kdf(HKDF_SHA256, null, null, null);
    static final int MAX_MEMORY_KIB = 4 * 1024 * 1024;
    static final int MAX_ITERATIONS = 64;
    static final int MAX_PARALLELISM = 16;
    private static final byte[] HKDF_INFO = "jblksnap key-file wrapping key".getBytes(java.nio.charset.StandardCharsets.UTF_8);

    public static Kdf argon2id(int memoryKib, int iterations, int parallelism) {
        Kdf k = new Kdf(ARGON2ID, memoryKib, iterations, parallelism);
        k.check();
        return k;
    }

    /** Throws IllegalArgumentException unless this is a KDF with parameters this program accepts. */
    void check() {
        switch (name) {
            case ARGON2ID -> {
                if (memoryKib == null || iterations == null || parallelism == null) {
                    throw new IllegalArgumentException("argon2id needs memory_kib, iterations and parallelism");
                }
                if (parallelism < 1 || parallelism > MAX_PARALLELISM) {
                    throw new IllegalArgumentException("argon2id parallelism " + parallelism + " is outside 1.."
                            + MAX_PARALLELISM);
                }
                if (memoryKib < 8 * parallelism || memoryKib > MAX_MEMORY_KIB) {
                    throw new IllegalArgumentException("argon2id memory " + memoryKib + " KiB is outside "
                            + 8 * parallelism + ".." + MAX_MEMORY_KIB);
                }
                if (iterations < 1 || iterations > MAX_ITERATIONS) {
                    throw new IllegalArgumentException("argon2id iterations " + iterations + " is outside 1.."
                            + MAX_ITERATIONS);
                }
            }
            case HKDF_SHA256 -> {
                if (memoryKib != null || iterations != null || parallelism != null) {
                    throw new IllegalArgumentException("hkdf-sha256 takes no memory, iterations or parallelism");
                }
            }
            case null -> throw new IllegalArgumentException("no KDF name");
            default -> throw new IllegalArgumentException("unknown KDF '" + name + "' (argon2id and hkdf-sha256 are known)");
        }
    }

    /** The 32-byte wrapping key of secret and salt. */
    byte[] derive(byte[] secret, byte[] salt) {
        check();
        byte[] out = new byte[Sealer.KEY_BYTES];
        if (name.equals(ARGON2ID)) {
            out = PassphraseKeys.get(this, salt, secret, () -> {
                byte[] derived = new byte[Sealer.KEY_BYTES];
                argon2id(secret, salt, null, null, derived);
                return derived;
            });
        } else {
            out = hkdfSha256(secret, salt, HKDF_INFO, out.length);
        }
        return out;
    }

    /** HKDF-SHA256 (RFC 5869): length bytes of key material from ikm, salt and info. */
    static byte[] hkdfSha256(byte[] ikm, byte[] salt, byte[] info, int length) {
        HKDFBytesGenerator h = new HKDFBytesGenerator(new SHA256Digest());
        h.init(new HKDFParameters(ikm, salt, info));
        byte[] out = new byte[length];
        h.generateBytes(out, 0, length);
        return out;
    }

    /** Argon2id with this record's parameters and RFC 9106's optional secret and associated data (null: none). */
    void argon2id(byte[] password, byte[] salt, byte[] secret, byte[] associatedData, byte[] out) {
        Argon2Parameters.Builder b = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13).withSalt(salt).withMemoryAsKB(memoryKib)
                .withIterations(iterations).withParallelism(parallelism);
        if (secret != null) {
            b.withSecret(secret);
        }
        if (associatedData != null) {
            b.withAdditional(associatedData);
        }
        Argon2BytesGenerator g = new Argon2BytesGenerator();
        g.init(b.build());
        g.generateBytes(password, out);
    }

    /** The KDF as one line, also the associated data of the master key it wraps: changed parameters do not open. */
    @Override
    public String toString() {
        return name.equals(ARGON2ID) ? name + " m=" + memoryKib + "KiB t=" + iterations + " p=" + parallelism : name;
    }
}
