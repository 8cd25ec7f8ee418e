package org.jblksnap.testutil;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

/** Device files with mixed content, as a backup meets it: random bytes, text, zeroes. */
public final class MixedContent {
    private static final String[] WORDS = ("block device snapshot backup change tracking copy write image "
            + "the of and to in is that for it as with was on be by this are from or at").split(" ");
    private static final int MIB = 1 << 20;

    private MixedContent() {
    }

    /** {@code MixedContent FILE SIZE_MIB [SEED]}: makes the file (for the benchmarks). */
    public static void main(String[] args) throws IOException {
        mixed(Path.of(args[0]), Long.parseLong(args[1]) * MIB, args.length > 2 ? Long.parseLong(args[2]) : 1);
    }

    /**
     * A file of size bytes made of 1 MiB pieces, each picked at random: random bytes, text-like,
     * or zeroes (left as a hole); the same seed gives the same content.
     */
    public static Path mixed(Path file, long size, long seed) throws IOException {
        Random rnd = new Random(seed);
        byte[] piece = new byte[MIB];
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
            for (long at = 0; at < size; at += MIB) {
                int n = (int) Math.min(MIB, size - at);
                switch (rnd.nextInt(3)) {
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
