package org.jblksnap.repo.crypto;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The Argon2id results of this process, remembered by a digest of their inputs (the KDF's
 * parameters, the salt and the passphrase), so that a daemon that opens the same encrypted
 * repository run after run (scheduled jobs, `backup` asked of the daemon) pays the deliberately
 * slow derivation once, not per run: about a second of CPU on this machine. The result is a
 * pure function of those inputs, so a remembered one is the one a new derivation would give; a
 * changed password file or a slot with another salt is another entry. What is kept is what
 * the process could derive again from the password file it was given: it adds nothing an
 * attacker with the process's memory lacks. At most {@link #CAPACITY} entries, least recently
 * used dropped first.
 */
final class PassphraseKeys {
    static final int CAPACITY = 16;

    private static final Map<String, byte[]> REMEMBERED = new LinkedHashMap<>(CAPACITY, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, byte[]> eldest) {
            return size() > CAPACITY;
        }
    };
    private static long derivations;

    private PassphraseKeys() {
    }

    /** The key derive gives for these inputs, derived now or remembered from before. */
    static byte[] get(Kdf kdf, byte[] salt, byte[] passphrase, Supplier<byte[]> derive) {
        String key = digest(kdf, salt, passphrase);
        synchronized (REMEMBERED) {
            byte[] known = REMEMBERED.get(key);
            if (known != null) {
                return known.clone();
            }
        }
        byte[] out = derive.get(); // outside the lock: a second repository does not wait for the first
        synchronized (REMEMBERED) {
            derivations++;
            REMEMBERED.put(key, out.clone());
        }
        return out;
    }

    /** How many derivations this process made (for tests). */
    static long derivations() {
        synchronized (REMEMBERED) {
            return derivations;
        }
    }

    private static String digest(Kdf kdf, byte[] salt, byte[] passphrase) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] params = kdf.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            for (byte[] part : new byte[][] {params, salt, passphrase}) {
                md.update(java.nio.ByteBuffer.allocate(4).putInt(part.length).array());
                md.update(part);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
