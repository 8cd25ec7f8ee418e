package org.jblksnap.repo;

import java.nio.ByteBuffer;

import org.jblksnap.repo.crypto.AuthenticationFailedException;
import org.jblksnap.repo.crypto.MasterKey;
import org.jblksnap.repo.crypto.ObjectLabel;
import org.jblksnap.repo.crypto.Sealer;

/**
 * How a repository's objects are encoded: the format version its packs and points carry, and
 * for an encrypted repository (version 3 with {@code "encryption":"aes-256-gcm"}) its master
 * key, which seals pack entries, pack indexes and points and keys the ids of chunks and
 * manifests. Without a key, ids are SHA-256 and nothing is sealed (version 2, or version 3
 * with {@code "encryption":"none"}). What is sealed under which label:
 * {@code docs/REPOSITORY.md#sealed-objects-of-a-repository}. Thread-safe.
 */
final class ObjectCodec {
    private final int version;
    private final MasterKey key;

    private ObjectCodec(int version, MasterKey key) {
        this.version = version;
        this.key = key;
    }

    /** Plain objects of the given format version. */
    static ObjectCodec plain(int version) {
        return new ObjectCodec(version, null);
    }

    /** Sealed objects (format version 3) under the master key. */
    static ObjectCodec sealed(MasterKey key) {
        return new ObjectCodec(RepositoryConfig.VERSION, key);
    }

    /** The format version of the pack and point files. */
    int version() {
        return version;
    }

    boolean isSealed() {
        return key != null;
    }

    /** The id of content: HMAC-SHA256 under the id key when sealed, else SHA-256. */
    Hash id(byte[] data, int off, int len) {
        return key == null ? Hash.of(data, off, len) : Hash.read(ByteBuffer.wrap(key.chunkIds().id(data, off, len)));
    }

    /** A pack entry's label: its type and id, so that it opens wherever a pack holds it (prune moves entries). */
    static ObjectLabel entry(EntryType type, Hash id) {
        return ObjectLabel.of(type.toString(), id.hex());
    }

    /**
     * b[off, off + len) sealed under the label into out (room for len + {@link #overhead}
     * bytes, not overlapping b); returns the sealed length. Only for a codec that seals.
     */
    int sealInto(ObjectLabel label, byte[] b, int off, int len, byte[] out) {
        return key.sealer().seal(label, b, off, len, out, 0);
    }

    byte[] seal(ObjectLabel label, byte[] b) {
        return key == null ? b : key.sealer().seal(label, b, 0, b.length);
    }

    /** What sealing adds to an object's length. */
    int overhead() {
        return key == null ? 0 : Sealer.OVERHEAD;
    }

    /** The plaintext of a stored object; the bytes themselves when not sealed. */
    byte[] open(ObjectLabel label, byte[] stored) throws AuthenticationFailedException {
        return key == null ? stored : key.sealer().open(label, stored);
    }

    /**
     * The plaintext of the sealed object at stored[off, off + len) into out from 0 (room for len
     * - {@link #overhead} bytes, not overlapping stored); returns its length. Nothing in out may
     * be used when this throws. Only for a codec that seals.
     */
    int openInto(ObjectLabel label, byte[] stored, int off, int len, byte[] out) throws AuthenticationFailedException {
        return key.sealer().open(label, stored, off, len, out, 0);
    }
}
