package org.jblksnap.repo;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;

import org.jblksnap.repo.crypto.AuthenticationFailedException;
import org.jblksnap.repo.crypto.ObjectLabel;

import com.github.luben.zstd.Zstd;

/**
 * Encodes and checks the object of one point, {@code points/ID.point}: its metadata
 * ({@link PointMeta}) and its index, each sealed in an encrypted repository. Format: {@code docs/REPOSITORY.md#point-files}.
 */
final class PointFile {
    private static final byte[] MAGIC = "JBSPOINT".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_META = 1 << 20;
    /** The bytes read for a point's metadata at first: a point's JSON is well under 2 KiB. */
    private static final int META_GUESS = 4096;

    private PointFile() {
    }

    /** The labels of a point's sealed parts: its id, so that a point opens only under its own name. */
    private static ObjectLabel metaLabel(long id) {
        return ObjectLabel.of("point-meta", Long.toString(id));
    }

    private static ObjectLabel indexLabel(long id) {
        return ObjectLabel.of("point-index", Long.toString(id));
    }

    /** The object of point id (sealed in an encrypted repository: the label names the id). */
    static ByteBuffer encode(ObjectCodec codec, long id, PointMeta meta, HashList index) throws IOException {
        int blocks = meta.geometry().blockCount();
        if (index.count() != blocks) {
            throw new IllegalArgumentException("index of " + index.count() + " blocks for a point of " + blocks);
        }
        byte[] json = codec.seal(metaLabel(id), Json.MAPPER.writeValueAsBytes(meta));
        byte[] packed = codec.seal(indexLabel(id), Zstd.compress(index.bytes(), 3));
        ByteBuffer b = ByteBuffer.allocate(8 + 4 + 4 + json.length + 8 + 4 + packed.length + 32);
        FileHeader.put(b, MAGIC, codec.version()).putInt(json.length).put(json).putLong(index.count()).putInt(packed.length)
                .put(packed);
        MessageDigest md = Hash.sha256();
        md.update(b.array(), 0, b.position());
        b.put(md.digest());
        return b.flip();
    }

    /**
     * Reads only the metadata at the start of the object of point id: one read of its first
     * {@link #META_GUESS} bytes, which hold the whole metadata of any point jblksnap writes
     * (a second read fetches the rest of a longer one).
     */
    static PointMeta readMeta(ObjectCodec codec, ObjectStore store, String name, long id) throws IOException {
        String file = store.describe(name);
        byte[] first = store.getRange(name, 0, META_GUESS);
        int len = checkHead(codec, ByteBuffer.wrap(first), file);
        byte[] json = Arrays.copyOfRange(first, 16, Math.min(first.length, 16 + len));
        if (json.length < len) {
            byte[] rest = store.getRange(name, first.length, len - json.length);
            json = Arrays.copyOf(json, json.length + rest.length);
            System.arraycopy(rest, 0, json, json.length - rest.length, rest.length);
        }
        if (json.length != len) {
            throw bad(file, "truncated metadata");
        }
        return parseMeta(open(codec, metaLabel(id), json, file), file);
    }

    private static byte[] open(ObjectCodec codec, ObjectLabel label, byte[] stored, String file)
            throws RepositoryException {
        try {
            return codec.open(label, stored);
        } catch (AuthenticationFailedException e) {
            throw bad(file, e.getMessage());
        }
    }

    /** Reads the whole file, checking its checksum and that the index fits the metadata. */
    static HashList readIndex(ObjectCodec codec, ObjectStore store, String name, long id, PointMeta meta)
            throws IOException {
        String file = store.describe(name);
        byte[] all = store.get(name);
        if (all.length < 16 + 12 + 32) {
            throw bad(file, "truncated");
        }
        MessageDigest md = Hash.sha256();
        md.update(all, 0, all.length - 32);
        if (!Arrays.equals(md.digest(), Arrays.copyOfRange(all, all.length - 32, all.length))) {
            throw bad(file, "checksum mismatch");
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(all, 0, all.length - 32);
            int len = checkHead(codec, b, file);
            b.position(b.position() + len);
            long count = b.getLong();
            int packedLen = b.getInt();
            if (count != meta.geometry().blockCount() || packedLen != b.remaining()) {
                throw bad(file, "index of " + count + " blocks does not fit the metadata");
            }
            byte[] packed = open(codec, indexLabel(id), Arrays.copyOfRange(all, b.position(), b.limit()), file);
            byte[] raw = Zstd.decompress(packed, Math.multiplyExact((int) count, Hash.BYTES));
            if (raw.length != count * Hash.BYTES) {
                throw bad(file, "index is " + raw.length + " bytes, expected " + count * Hash.BYTES);
            }
            return HashList.fromBytes(raw);
        } catch (BufferUnderflowException | ArithmeticException | com.github.luben.zstd.ZstdException e) {
            throw bad(file, "malformed index (" + e.getMessage() + ")");
        }
    }

    private static int checkHead(ObjectCodec codec, ByteBuffer head, String file) throws RepositoryException {
        if (head.remaining() < 16) {
            throw bad(file, "truncated header");
        }
        FileHeader.check(head, MAGIC, codec.version(), "point file " + file, "point file");
        int len = head.getInt();
        if (len <= codec.overhead() || len > MAX_META + codec.overhead()) {
            throw bad(file, "metadata length " + len);
        }
        return len;
    }

    private static PointMeta parseMeta(byte[] json, String file) throws RepositoryException {
        try {
            return Json.MAPPER.readValue(json, PointMeta.class);
        } catch (IOException | IllegalArgumentException e) {
            throw bad(file, "bad metadata (" + e.getMessage() + ")");
        }
    }

    private static RepositoryException bad(String file, String what) {
        return new RepositoryException("point file " + file + ": " + what);
    }
}
