package org.jblksnap.cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

/** Device files with mixed content, as a backup meets it: random bytes, text, zeroes. */
final class DeviceFiles {
    private static final String[] WORDS = ("block device snapshot backup change tracking copy write image "
            + "the of and to in is that for it as with was on be by this are from or at").split(" ");
    private static final int MIB = 1 << 20;

    private DeviceFiles() {
    }

    /**
     * A file of size bytes made of 1 MiB pieces in turn: random bytes, text-like, zeroes (left
     * as a hole); the same seed gives the same content.
     */
    static Path mixed(Path file, long size, long seed) throws IOException {
        Random rnd = new Random(seed);
        byte[] piece = new byte[MIB];
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
            for (long at = 0; at < size; at += MIB) {
                int n = (int) Math.min(MIB, size - at);
                switch ((int) (at / MIB % 3)) {
                    case 0 -> rnd.nextBytes(piece);
                    case 1 -> text(rnd, piece);
                    default -> {
                        continue;
                    }
                }
                f.seek(at);
                f.write(piece, 0, n);
            }
        }
        return file;
    }

    private static void text(Random rnd, byte[] out) {
        int i = 0;
        while (i < out.length) {
            byte[] w = (WORDS[rnd.nextInt(WORDS.length)] + (rnd.nextInt(12) == 0 ? ".\n" : " "))
                    .getBytes(StandardCharsets.US_ASCII);
            int n = Math.min(w.length, out.length - i);
            System.arraycopy(w, 0, out, i, n);
            i += n;
        }
    }
}
