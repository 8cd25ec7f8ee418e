/**
 * Repository encryption: the master key, its wrapping under passphrases and key files, and
 * sealing.
 *
 * <p>A repository has one {@link org.jblksnap.repo.crypto.MasterKey}, made at init: a seal
 * key (AES-256-GCM, {@link org.jblksnap.repo.crypto.Sealer}) and an id key (HMAC-SHA256 chunk
 * ids, {@link org.jblksnap.repo.crypto.ChunkIds}). It is stored only wrapped, once per
 * passphrase or key file, in key slots ({@link org.jblksnap.repo.crypto.KeyRing}) in a
 * {@link org.jblksnap.repo.crypto.KeyStore}; the key derived from a passphrase (Argon2id) or a
 * key file (HKDF-SHA256) seals the master key like any other object. Adding or removing a
 * slot rotates passphrases without rewriting data.
 *
 * <p>Every sealed object carries its own random nonce and is authenticated together with a
 * label naming it ({@link org.jblksnap.repo.crypto.ObjectLabel}); opening it under any other
 * label, with another key, or after any change of a bit fails with an
 * {@link org.jblksnap.repo.crypto.AuthenticationFailedException} that names the object. The
 * byte layouts are in docs/REPOSITORY.md, "Encryption".
 */
package org.jblksnap.repo.crypto;
