package org.jblksnap.repo;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A SHA-256: the name of stored content in the repository. {@link #ZERO} (all bits clear)
 * stands for content that reads as zeroes and is not stored.
 */
public record Hash(long a, long b, long c, long d) {
    public static final int BYTES = 32;
    public static final Hash ZERO = new Hash(0, 0, 0, 0);

    /** One digest a thread, not a provider look-up (MessageDigest.getInstance) per 64 KiB chunk. */
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(Hash::sha256);

    public static Hash of(byte[] data, int offset, int length) {
        MessageDigest md = SHA256.get(); // reset by digest()
        md.update(data, offset, length);
        return read(ByteBuffer.wrap(md.digest()));
    }

    /** Reads 32 bytes at the buffer's position. */
    public static Hash read(ByteBuffer b) {
        return new Hash(b.getLong(), b.getLong(), b.getLong(), b.getLong());
    }

    public void write(ByteBuffer b) {
        b.putLong(a).putLong(this.b).putLong(c).putLong(d);
    }

    public boolean isZero() {
        return equals(ZERO);
    }

    public String hex() {
        ByteBuffer b = ByteBuffer.allocate(BYTES);
        write(b);
        return HexFormat.of().formatHex(b.array());
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    @Override
    public String toString() {
        return isZero() ? "zero" : hex();
    }
}
