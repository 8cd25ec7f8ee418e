package org.jblksnap.repo;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** The head of the repository's binary files: an 8-byte magic, then a 4-byte format version. */
final class FileHeader {
    static final int BYTES = 12;

    private FileHeader() {
    }

    static ByteBuffer put(ByteBuffer b, byte[] magic, int version) {
        return b.put(magic).putInt(version);
    }

    /**
     * Reads the magic and version at the buffer's position and checks them; a mismatch is a
     * RepositoryException "NAME: not a KIND" or "NAME: format version N is not supported (…)".
     */
    static void check(ByteBuffer head, byte[] magic, int version, String name, String kind) throws RepositoryException {
        byte[] m = new byte[magic.length];
        head.get(m);
        if (!Arrays.equals(m, magic)) {
            throw new RepositoryException(name + ": not a " + kind);
        }
        int v = head.getInt();
        if (v != version) {
            throw new RepositoryException(name + ": format version " + v + " is not supported (this program reads "
                    + version + ")");
        }
    }
}
